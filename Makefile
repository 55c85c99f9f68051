# leadgate: `make run` sets up and runs the pipeline on the bundled sample; `make test` runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
BOOT := .uv-bootstrap
UV := $(BOOT)/bin/uv
VENV := .venv
STAMP := $(VENV)/.leadgate-synced

# Telemetry off, everywhere this Makefile runs anything.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 90
export UV_PYTHON_DOWNLOADS := never
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: help setup browser run test sample benchmark clean

help:
	@echo "make run        set up and run the whole pipeline on data/sample (shadow mode, no credentials)"
	@echo "make test       set up and run the test suite"
	@echo "make benchmark  run the ingest (EVENTS=1000000) and pipeline (LEADS=100000) benchmarks"
	@echo "make clean      remove the environment and generated state"

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: installed packages ship their .pyc files, so no process compiles GX, dbt or Prefect
# from source again (with PYTHONDONTWRITEBYTECODE set, as on CI, every import would; GX alone took ~5 s).
$(STAMP): pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: $(STAMP)

# The bundled sample ends 2026-11-15: score it as of then, so the demo shows every route whatever today's date.
SAMPLE_AS_OF := 2026-11-15T12:00:00Z
run: setup
	LEADGATE_INBOX=$${LEADGATE_INBOX:-data/sample} LEADGATE_AS_OF=$${LEADGATE_AS_OF:-$(SAMPLE_AS_OF)} $(VENV)/bin/leadgate run

# The browser tests drive Debian's chromium through Playwright (Playwright's own download needs the internet).
# A fresh machine may have no package lists yet: install, else update the lists once and install.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@command -v chromium >/dev/null || { echo "installing chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get install -y chromium >/dev/null 2>&1 || { $(SUDO) apt-get update >/dev/null && $(SUDO) apt-get install -y chromium >/dev/null; } \
	  || { echo "could not install chromium: run 'sudo apt-get install -y chromium'" >&2; exit 1; }; }

# Three workers, work-stealing: the suite mostly waits on dbt, Prefect and emulator subprocesses (two workers
# kept 2 cores about half busy), and stealing keeps the slow end-to-end tests from queueing behind one worker.
TEST_WORKERS ?= 3
test: setup browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

LEADS ?= 100000
EVENTS ?= 1000000
benchmark: setup
	$(VENV)/bin/python benchmarks/ingest.py --events $(EVENTS) --repeat 5
	$(VENV)/bin/python benchmarks/pipeline.py --leads $(LEADS)

clean:
	rm -rf $(VENV) $(BOOT) .prefect dbt_project/target dbt_project/logs data/*.duckdb data/*.duckdb.* data/generated
