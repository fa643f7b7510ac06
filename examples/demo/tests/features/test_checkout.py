from __future__ import annotations

from demoapp import features


def test_victim_checkout_uses_classic_pipeline() -> None:
    # Only the alpha+beta combination switches the pipeline, so this fails
    # only when both flag tests ran earlier in the process.
    assert features.checkout_pipeline() == "classic"
