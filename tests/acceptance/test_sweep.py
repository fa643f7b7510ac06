"""Issue 24's acceptance: a suite with one polluter whose classmates clean up after it and 22
victims across classes and modules gets every victim from ``isoscan seeds --count 10 --bisect``,
grouped under the one polluter, in the terminal, JSON, Markdown and JUnit reports."""

from __future__ import annotations

import contextlib
import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pollution_shapes import make_shape
from suitegen import read_json, run_cli

POLLUTER = "tests/test_b_factory.py::TestFactory::test_bad_id"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str], str]:
    shape = make_shape("classmates clean", 1)
    root = shape.write(tmp_path_factory.mktemp("sweep") / "suite")
    victims = shape.victims[POLLUTER]
    assert len(victims) >= 20 and len({v.split("::")[0] for v in victims}) >= 4
    out = root / "out"
    out.mkdir()
    before = os.getcwd()
    os.chdir(root)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            code = run_cli(["seeds", "--count", "10", "--bisect", "--plan-seed", "3",
                            "--store", str(root / ".isoscan"), "--json", str(out / "r.json"),
                            "--markdown", str(out / "r.md"), "--junit-xml", str(out / "r.xml"),
                            "tests"])
    finally:
        os.chdir(before)
    assert code == 1
    return out, victims, buffer.getvalue()


def test_every_victim_found_and_grouped_under_the_polluter(
        session: tuple[Path, set[str], str]) -> None:
    out, victims, _ = session
    doc: dict[str, Any] = read_json(out / "r.json")
    order_dependent = {t["nodeid"] for t in doc["tests"] if t["verdict"] == "order-dependent"}
    assert order_dependent == victims
    assert len(doc["causes"]) == 1
    cause = doc["causes"][0]
    assert cause["polluters"] == [POLLUTER]
    assert set(cause["victims"]) == victims
    assert cause["state"] == "global `factory.id_type`"
    assert cause["text"] == f"`{POLLUTER}` breaks {len(victims)} tests (global `factory.id_type`)"
    (sweep,) = doc["sweeps"]
    assert sweep["polluters"] == [POLLUTER]
    assert sweep["complete"] and sweep["test_seconds"] <= sweep["budget_seconds"]
    assert set(sweep["known_victims"]) | set(sweep["new_victims"]) == victims


def test_one_line_in_every_report(session: tuple[Path, set[str], str]) -> None:
    out, victims, terminal = session
    line = f"`{POLLUTER}` breaks {len(victims)} tests (global `factory.id_type`)"
    assert line in terminal
    assert f"- {line}" in (out / "r.md").read_text()
    props = [p.get("value") for p in ET.parse(out / "r.xml").iter("property")
             if p.get("name") == "isoscan.cause"]
    assert props == [line]


def test_latent_polluters_are_swept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's third shape (many classes reset the state in setUp): the collected and the
    reversed order show no victim, but state tracking suspects the polluter, and sweeping it
    finds every victim it plants, confirmed by the rule, grouped under it."""
    shape = make_shape("resets in setUp", 1)
    root = shape.write(tmp_path / "suite")
    ((polluter, victims),) = shape.victims.items()
    before = os.getcwd()
    os.chdir(root)
    try:
        code = run_cli(["seeds", "--count", "0", "--bisect", "--track-state", "--store",
                        str(root / ".isoscan"), "--json", str(root / "r.json"), "tests"])
    finally:
        os.chdir(before)
    assert code == 1
    doc: dict[str, Any] = read_json(root / "r.json")
    assert {t["nodeid"] for t in doc["tests"] if t["verdict"] == "order-dependent"} == victims
    (cause,) = doc["causes"]
    assert cause["polluters"] == [polluter] and set(cause["victims"]) == victims
    assert cause["text"] == (f"`{polluter}` breaks {len(victims)} tests "
                             "(global `factory.id_type`)")
    assert f"`{polluter}` breaks {len(victims)} tests" in capsys.readouterr().out


def test_bisect_sweeps_the_polluter_it_names(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`isoscan bisect` of one victim names the polluter, then sweeps it: every other victim
    it breaks (spread over seven modules) is named too, under one line."""
    shape = make_shape("victims spread", 1)
    root = shape.write(tmp_path / "suite")
    ((polluter, victims),) = shape.victims.items()
    first = sorted(victims)[0]
    order = root / "order.txt"
    order.write_text("".join(f"{t}\n" for t in shape.ids if t not in victims) + f"{first}\n")
    before = os.getcwd()
    os.chdir(root)
    try:
        code = run_cli(["bisect", first, "tests", "--order-file", str(order), "--no-explain",
                        "--store", str(root / ".isoscan"), "--json", str(root / "b.json")])
    finally:
        os.chdir(before)
    assert code == 0
    doc: dict[str, Any] = read_json(root / "b.json")
    assert doc["polluters"] == [[polluter]]
    (sweep,) = doc["sweeps"]
    assert sweep["known_victims"] == [first]
    assert set(sweep["new_victims"]) == victims - {first}
    assert {a["victim"] for a in doc["swept_victims"]} == victims - {first}
    assert all(a["polluters"] == [[polluter]] and a["confirmation"]["met"]
               for a in doc["swept_victims"])
    assert f"`{polluter}` breaks {len(victims)} tests (global `factory.id_type`)" \
        in capsys.readouterr().out
