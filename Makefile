# statedata: `make demo` sets up and serves the demo portal; `make test` sets up and runs every test.
# Set-up is idempotent: the virtual environment is rebuilt only when the pinned requirements change.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOME_DIR ?= statedata-home
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: setup demo serve test lint format bench-ingest docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: setup
	$(BIN)/statedata demo --serve --home $(HOME_DIR) --host $(HOST) --port $(PORT)

serve: setup
	$(BIN)/statedata serve --home $(HOME_DIR) --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check src tests bench

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench-ingest: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(HOME_DIR) .pytest_cache .ruff_cache

docs: setup
	$(BIN)/typer statedata.cli.main utils docs --name statedata --title "The statedata command line" --output docs/cli.md
