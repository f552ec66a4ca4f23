# Two commands do everything from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

.PHONY: install parse demo dev test bench clean

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen

parse: install
	$(RUN) python -m ici_assets.cli parse

demo: install
	$(RUN) python -m ici_assets.cli demo

dev: parse
	mkdir -p "$(DAGSTER_HOME)"
	$(RUN) dagster dev -w workspace.yaml

test: install
	$(RUN) pytest

bench: install
	$(RUN) python benchmarks/bench_article.py

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
