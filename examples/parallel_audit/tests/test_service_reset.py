import json
import time
import urllib.request


def test_service_reset_empties_items(service):
    time.sleep(0.1)
    urllib.request.urlopen(urllib.request.Request(f"{service}/reset", data=b"",
                                                  method="POST")).read()
    time.sleep(0.2)
    assert json.loads(urllib.request.urlopen(f"{service}/items").read()) == []
