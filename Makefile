# Two commands do everything from a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
export UV_PYTHON_DOWNLOADS := never
# Let Python cache the bytecode it compiles (.venv, __pycache__/: gitignored): with PYTHONDONTWRITEBYTECODE set, as on
# the machines here, every process compiles dagster, dbt and pandas again (import dagster, dagster_dbt: 8.0 s vs 2.5 s).
unexport PYTHONDONTWRITEBYTECODE
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

.PHONY: install parse demo dev test test-fast browser postgres-server bench clean lint docs

# DBT_TARGET=postgres runs everything on PostgreSQL (docs/postgres.md); with no PGHOST set,
# on a local server under .postgres/ that the CLI starts from Debian's packages.
PG_SERVER := $(if $(filter postgres,$(DBT_TARGET)),$(if $(PGHOST),,postgres-server))

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --extra dask --extra postgres

parse: install
	$(RUN) python -m ici_assets.cli parse

demo: install $(PG_SERVER)
	$(RUN) python -m ici_assets.cli demo

# Webserver + daemon in one process group: one Ctrl-C or SIGTERM stops them all (ici_assets/devserver.py).
dev: parse $(PG_SERVER)
	mkdir -p "$(DAGSTER_HOME)"
	eval "$$($(RUN) python -m ici_assets.cli postgres env)" && exec $(RUN) python -m ici_assets.dev.devserver -w workspace.yaml

# The UI test drives Debian's Chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The PostgreSQL tests start a private server from Debian's packages (initdb, pg_ctl), installed here when
# missing; ICI_TEST_POSTGRES_DSN points them at a server of yours instead.
postgres-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# The whole suite, after the linters and the docs (docs/tests.md).
test: lint docs browser postgres-server
	ICI_REQUIRE_POSTGRES=1 $(RUN) pytest

# The inner loop: everything but the tests marked slow, browser, cluster or postgres (under 2 minutes).
test-fast: install
	$(RUN) pytest -m "not slow and not browser and not cluster and not postgres"

# dbt compiles the models for sqlfluff against an in-memory DuckDB (nothing is written).
lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	ICI_WAREHOUSE=:memory: $(RUN) sqlfluff lint dbt_project/models

# The docs site (MkDocs, Material theme) into site/; strict: a broken link or anchor fails it. The reference
# pages are rendered from the typed models by docs/gen_reference.py (imports the component: most of the time).
docs: install
	NO_MKDOCS_2_WARNING=1 PYTHONWARNINGS=ignore::DeprecationWarning $(RUN) mkdocs build --strict

bench: install
	$(RUN) python benchmarks/bench_article.py

clean:
	[ ! -d .postgres/data ] || $(RUN) python -m ici_assets.cli postgres stop
	rm -rf data .dagster_home .postgres dbt_project/target dbt_project/logs site
