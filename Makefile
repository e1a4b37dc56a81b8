# The two quick-start commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers for `make test` (`make test WORKERS=0` runs in one process).
WORKERS ?= auto
LOCK_FLAGS ?=
PIP_TOOLS := pip-tools==7.7.0
SWAGGER_UI := 5.35.0
VENDOR := src/gopaycare/web/static/vendor/swagger-ui
# htmx for the pages (web/pages/), and axe-core for the browser tests' accessibility check only.
HTMX := 2.0.11
HTMX_DIR := src/gopaycare/web/static/vendor/htmx
# Apache ECharts for the supervisor dashboard's charts (the full minified build; its licence and NOTICE beside it).
ECHARTS := 6.1.0
ECHARTS_DIR := src/gopaycare/web/static/vendor/echarts
AXE := 4.11.1
AXE_DIR := tests/browser/vendor/axe-core

.PHONY: run test install lock vendor reset-demo lint bench-ledger clean

# The exact versions (and hashes) in requirements.lock, then the package itself without resolving again.
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Install everything, seed the demo (SQLite, in-process jobs) and serve on http://$(HOST):$(PORT)/
run: $(STAMP)
	$(BIN)/gopaycare demo --host $(HOST) --port $(PORT)

## Install everything and run the whole test suite
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(WORKERS)

## Empty the demo database and seed it again (stop `make run` first)
reset-demo: $(STAMP)
	$(BIN)/gopaycare demo --reset --no-serve

## Pin the dependencies of pyproject.toml (with the test extra) into requirements.lock again; pins that
## still fit are kept (`make lock LOCK_FLAGS=--upgrade` takes the newest versions the ranges allow)
lock:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet '$(PIP_TOOLS)'
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra test --generate-hashes --allow-unsafe \
	  --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS) --output-file requirements.lock \
	  pyproject.toml

## Swagger UI's assets for /docs, htmx and ECharts for the pages, axe-core for the browser tests: served locally (they work offline), from the npm registry
vendor:
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cd $(VENDOR) && npm pack --silent swagger-ui-dist@$(SWAGGER_UI) >/dev/null \
	  && tar -xzf swagger-ui-dist-$(SWAGGER_UI).tgz \
	  && cp package/swagger-ui-bundle.js package/swagger-ui-bundle.js.LICENSE.txt package/swagger-ui.css \
	     package/favicon-32x32.png package/LICENSE package/NOTICE . \
	  && echo "swagger-ui-dist $(SWAGGER_UI) (npm), taken by \`make vendor\`" > VERSION \
	  && rm -rf package swagger-ui-dist-$(SWAGGER_UI).tgz
	rm -rf $(HTMX_DIR) && mkdir -p $(HTMX_DIR)
	cd $(HTMX_DIR) && npm pack --silent htmx.org@$(HTMX) >/dev/null && tar -xzf htmx.org-$(HTMX).tgz \
	  && cp package/dist/htmx.min.js package/LICENSE . \
	  && echo "htmx.org $(HTMX) (npm), taken by \`make vendor\`" > VERSION \
	  && rm -rf package htmx.org-$(HTMX).tgz
	rm -rf $(ECHARTS_DIR) && mkdir -p $(ECHARTS_DIR)
	cd $(ECHARTS_DIR) && npm pack --silent echarts@$(ECHARTS) >/dev/null && tar -xzf echarts-$(ECHARTS).tgz \
	  && cp package/dist/echarts.min.js package/LICENSE package/NOTICE . \
	  && echo "echarts $(ECHARTS) (npm), taken by \`make vendor\`" > VERSION \
	  && rm -rf package echarts-$(ECHARTS).tgz
	rm -rf $(AXE_DIR) && mkdir -p $(AXE_DIR)
	cd $(AXE_DIR) && npm pack --silent axe-core@$(AXE) >/dev/null && tar -xzf axe-core-$(AXE).tgz \
	  && cp package/axe.min.js package/LICENSE . \
	  && echo "axe-core $(AXE) (npm), taken by \`make vendor\`; tests only, never served" > VERSION \
	  && rm -rf package axe-core-$(AXE).tgz

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py

clean:
	rm -rf $(VENV) gopaycare.db gopaycare.db-wal gopaycare.db-shm gopaycare.db.secret-key gopaycare-jobs.db gopaycare-models
