# muniwatch — every target installs what it needs first (`setup` is quick when nothing changed).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: setup lock run demo test gazetteer-sources lint typecheck unit integration e2e up down bench es-up es-down es-status clean
.PHONY: up-distributed down-distributed test-distributed

setup: $(STAMP)

# Re-install only when the dependency pins or the package metadata change.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.lock -e .
	@touch $@

# Re-resolve the pins after editing pyproject.toml (needs the package index).
lock: setup
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

es-up: setup
	$(BIN)/muniwatch es up
es-down: setup
	$(BIN)/muniwatch es down
es-status: setup
	$(BIN)/muniwatch es status

run: setup es-up
	$(BIN)/muniwatch run --once

demo: setup es-up
	$(BIN)/muniwatch demo

lint: setup
	$(BIN)/ruff check pipeline dags plugins tests bench scripts
	$(BIN)/ruff format --check pipeline dags plugins tests bench scripts

# mypy --strict over pipeline dags plugins bench (the file list is [tool.mypy] in pyproject.toml).
typecheck: setup
	$(BIN)/mypy

# The whole suite: lint, types, then every test against real servers started on loopback.
# The distributed stack's test is its own target (several minutes; see the README, Scaling out).
test: setup es-up lint typecheck gazetteer-sources
	$(BIN)/pytest -q -m "not distributed"

# The gazetteer's build-time input from npm (Census county polygons), so the test that rebuilds
# pipeline/data/gazetteer.tsv.gz and compares it runs; without npm that one test skips.
gazetteer-sources:
	@if command -v npm >/dev/null; then \
	  test -d scripts/gazetteer_sources/node_modules/us-atlas || \
	  npm ci --prefix scripts/gazetteer_sources --silent --no-audit --no-fund; \
	else echo "npm not found: the gazetteer rebuild check will skip"; fi

unit: setup
	$(BIN)/pytest -q -m unit
integration: setup es-up
	$(BIN)/pytest -q -m integration
e2e: setup es-up
	$(BIN)/pytest -q -m e2e

up: setup
	$(BIN)/muniwatch stack up
down: setup
	$(BIN)/muniwatch stack down

# CeleryExecutor on Postgres + Redis, two workers, a 3-node Elasticsearch (README: Scaling out).
up-distributed: setup
	$(BIN)/muniwatch stack up --distributed
down-distributed: setup
	$(BIN)/muniwatch stack down --distributed
# Starts its own distributed stack (var/distributed-test), runs the faults, stops it (also when a
# phase fails or it gets SIGTERM). -x: the phases build on each other, so the first failure ends it;
# -rA --durations=0: the start-up's timings and each phase's time in the output.
test-distributed: setup
	$(BIN)/pytest -q -x -m distributed tests/distributed -p no:cacheprovider -rA --durations=0 --log-level=ERROR

bench: setup es-up
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
