import socket
import time

PORT = 18572


def _serve_briefly():
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", PORT))
        s.listen()
        time.sleep(0.3)


def test_metrics_endpoint_listens():
    _serve_briefly()


def test_health_endpoint_listens():
    _serve_briefly()
