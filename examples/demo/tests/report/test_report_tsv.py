from __future__ import annotations

from demoapp import reporting

# Set once for the tests below, at import time: for every test of the session, in fact.
reporting.FORMAT = "tsv"


def test_tsv_report_uses_tabs() -> None:
    assert reporting.render([("orders", 2)]) == "orders\t2"
