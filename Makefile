# Two commands do everything from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

.PHONY: install parse demo dev test test-fast browser bench clean lint

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --extra dask

parse: install
	$(RUN) python -m ici_assets.cli parse

demo: install
	$(RUN) python -m ici_assets.cli demo

# Webserver + daemon in one process group: one Ctrl-C or SIGTERM stops them all (ici_assets/devserver.py).
dev: parse
	exec $(RUN) python -m ici_assets.devserver -w workspace.yaml

# The UI test drives Debian's Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The whole suite, after the linters (README "Tests").
test: lint browser
	$(RUN) pytest

# The inner loop: everything but the tests marked slow, browser or cluster (under 2 minutes).
test-fast: install
	$(RUN) pytest -m "not slow and not browser and not cluster"

# dbt compiles the models for sqlfluff against an in-memory DuckDB (nothing is written).
lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	ICI_WAREHOUSE=:memory: $(RUN) sqlfluff lint dbt_project/models

bench: install
	$(RUN) python benchmarks/bench_article.py

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
