from __future__ import annotations

from demoapp import reporting


def test_import_time_report_is_csv_by_default() -> None:
    # Passes in its own module (`pytest tests/report/test_report_csv.py`); fails whenever
    # tests/report/test_report_tsv.py is collected too, since importing it switches the format.
    assert reporting.render([("orders", 2)]) == "orders,2"
