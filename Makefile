# Everything the project needs is installed from here; nothing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	cd examples/demo && ../../$(BIN)/isoscan seeds --count 10 --workers 0,2 --timeout 2 \
		--bisect --store ../../.isoscan-demo tests; \
	status=$$?; if [ $$status -eq 1 ]; then echo "demo: planted bugs found (isoscan exit 1), as expected"; exit 0; fi; exit $$status

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bisect_vs_peers.py --repeat 3

clean:
	rm -rf $(VENV) .isoscan .isoscan-demo build dist
