import json
import time
import urllib.request


def _post(url, body=b""):
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")).read()


def test_service_lists_added_item(service):
    _post(f"{service}/reset")
    _post(f"{service}/items", b"apple")
    time.sleep(0.3)
    assert json.loads(urllib.request.urlopen(f"{service}/items").read()) == ["apple"]
