import time


def test_profile_keeps_current_session(flushed):
    time.sleep(0.1)
    flushed.set("session:current", "profile")
    time.sleep(0.1)
    assert flushed.get("session:current") == b"profile"
