# The two quick-start commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench-ledger clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Install everything, seed the demo (SQLite, in-process jobs) and serve on http://127.0.0.1:8000/
run: $(STAMP)
	$(BIN)/gopaycare demo

## Install everything and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) gopaycare.db gopaycare-jobs.db
