# statedata: `make demo` sets up and serves the demo portal; `make test` sets up and runs every test.
# Set-up is idempotent: the virtual environment is rebuilt only when the pinned requirements change.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOME_DIR ?= statedata-home
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: setup assets chromium demo serve test lint format bench-ingest docs clean

setup: $(STAMP) assets chromium

# The portal's front-end libraries: installed from npm exactly as package-lock.json pins them,
# then copied into the package's static folder, so no page loads anything from elsewhere.
VENDOR := src/statedata/web/static/vendor

assets: $(VENDOR)/.built

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.built: node_modules/.package-lock.json
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/vega/build/vega.min.js node_modules/vega-lite/build/vega-lite.min.js \
		node_modules/vega-embed/build/vega-embed.min.js $(VENDOR)/
	cp node_modules/maplibre-gl/dist/maplibre-gl.mjs node_modules/maplibre-gl/dist/maplibre-gl.css \
		node_modules/maplibre-gl/dist/maplibre-gl-shared.mjs \
		node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs $(VENDOR)/
	touch $@

# The browser tests drive Debian's Chromium (never a downloaded browser build). CI runs as
# root and installs it; elsewhere, say how.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "Chromium is missing: 'sudo apt-get install chromium' runs the browser tests."; \
		fi; \
	fi

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
