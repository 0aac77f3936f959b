# talkstream: `make demo` and `make test` work on a fresh clone with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit integration e2e bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Another port: TALKSTREAM_PORT=8001 make demo (TALKSTREAM_VIA_MAKE: errors then say so).
demo: $(STAMP)
	TALKSTREAM_VIA_MAKE=1 $(BIN)/talkstream up --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Two workers, a test file each at a time: most tests wait on processes and servers they start.
PYTEST_WORKERS ?= 2

test: lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

bench: $(STAMP)
	$(BIN)/talkstream bench record

clean:
	rm -rf $(VENV) .talkstream .mypy_cache .pytest_cache .ruff_cache
