# Everything the project needs is installed from here; nothing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# tests/acceptance/test_demo.py runs this very command (the line with `isoscan seeds`) and
# asserts every finding it prints.
demo: $(STAMP)
	cd examples/demo && ../../$(BIN)/isoscan seeds --count 8 --workers 0,2 --timeout 2 --bisect \
		--store ../../.isoscan-demo --html ../../.isoscan-demo/report.html tests; \
	status=$$?; if [ $$status -eq 1 ]; then echo "demo: planted bugs found (isoscan exit 1), as expected"; exit 0; fi; exit $$status

# Two pytest runs: everything but the tests marked `timing` on 2 xdist workers, then those
# (real collisions between workers, hang bounds) on their own, so no other test shares the
# machine with them. (They share servers too: the PostgreSQL example's table, Redis flushes.)
test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 -m "not timing"
	$(BIN)/python -m pytest -q -m timing --durations=10

# The inner loop: unit and library tests (no end-to-end run of the isoscan command).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not acceptance and not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bisect_vs_peers.py --repeat 3

clean:
	rm -rf $(VENV) .isoscan .isoscan-demo .isoscan-demo-audit build dist

# `isoscan audit` on examples/parallel_audit, as a team would run it before turning on -n:
# one command, no change to the suite. tests/acceptance/test_audit_examples.py runs this very
# command (the line with `isoscan audit`) and asserts every collision it prints. Its Redis pair
# needs ISOSCAN_TEST_REDIS_URL (`eval "$$(bash .ci/redis.sh start)"`); without it that pair skips.
.PHONY: demo-audit
demo-audit: $(STAMP)
	cd examples/parallel_audit && ../../$(BIN)/isoscan audit tests --workers 4 \
		--store ../../.isoscan-demo-audit; \
	status=$$?; if [ $$status -eq 1 ]; then echo "demo-audit: planted collisions confirmed (isoscan exit 1), as expected"; exit 0; fi; exit $$status
