# quantdesk — the two commands a user needs:
#   make run    set up .venv, install quantdesk, load the demo data, serve the API on :8000
#   make test   install the dev tools and run lint, types, layering and the whole test suite

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test install install-dev lint typecheck layers unit bench clean

run: install
	$(BIN)/quantdesk demo

test: install-dev lint typecheck layers
	$(BIN)/pytest -q

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,nlp]'
	@touch $(STAMP) $@

install: $(STAMP)

install-dev: $(DEV_STAMP)

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-dev
	$(BIN)/mypy

layers: install-dev
	$(BIN)/lint-imports

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,nlp,bench]'
	@touch $(STAMP) $(DEV_STAMP) $@

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_duckdb_store.py
	$(BIN)/python benchmarks/bench_history.py
	$(BIN)/python benchmarks/bench_postgres_store.py
	$(BIN)/python benchmarks/bench_backtest_event.py
	$(BIN)/python benchmarks/bench_backtest_vectorized.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
