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

# Three pytest processes. Everything but the tests marked `timing` runs on 2 xdist workers, and
# beside it, since they mostly wait, the `timing` tests (real collisions between workers, hang
# bounds) one at a time in a process of their own. The files in TIMING_ALONE (twin collisions,
# the hang bound) run once the first run is done, beside the rest of the timing run only, not
# beside the xdist workers. Tests that use a server's fixed tables or flush it get a database or
# Redis server of their own (tests/conftest.py). The background run's output is printed when it
# is done; the target fails if any run failed. A new timing file needs no entry here: it runs in
# the background run.
TIMING_ALONE := tests/acceptance/test_parallel_lanes.py tests/acceptance/test_hangs.py

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	@log=$$(mktemp); \
	$(BIN)/python -m pytest -q -m timing $(TIMING_ALONE:%=--ignore=%) --durations=10 \
		>"$$log" 2>&1 & early=$$!; \
	$(BIN)/python -m pytest -q -n 2 -m "not timing"; rest=$$?; \
	$(BIN)/python -m pytest -q -m timing --durations=5 $(TIMING_ALONE); late=$$?; \
	wait $$early; early_status=$$?; \
	echo "--- the timing tests run beside the above ---"; cat "$$log"; rm -f "$$log"; \
	[ $$rest -eq 0 ] && [ $$late -eq 0 ] && [ $$early_status -eq 0 ]

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
