import time


def test_cart_keeps_current_session(flushed):
    flushed.set("session:current", "cart")
    time.sleep(0.3)
    assert flushed.get("session:current") == b"cart"
