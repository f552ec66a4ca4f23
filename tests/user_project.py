"""The files of the docs' "Use it on your own dbt project" (docs/own-project.md), written by the user-project test.

That page shows these texts verbatim (tests/e2e/test_user_project.py checks it): a dg project (pyproject.toml
and a definitions module), a dbt project with its profile in ~/.dbt, a model with an ``ici`` meta per
table, and the Dagster instance's one-writer pool.
"""

from __future__ import annotations

from pathlib import Path

from tests.user_data import MediaProcess

PYPROJECT = """\
[project]
name = "my-ici"
version = "0.1.0"

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "my_ici"
"""

DEFINITIONS = """\
from pathlib import Path

import dagster as dg


@dg.definitions
def defs():
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""

DBT_PROJECT = """\
name: my_media
profile: my_media
config-version: 2
model-paths: ["models"]
models:
  my_media:
    +materialized: table
"""

PROFILES = """\
my_media:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{warehouse}"
      threads: 1
"""

INSTANCE = """\
concurrency:
  pools:
    default_limit: 1
"""

#: shape -> (model name, time column, time grain, unit columns besides time)
MODELS = {
    "weekly_national": ("media_weekly", "week", "week", ()),
    "weekly_regional": ("media_weekly_regional", "week", "week", ("region",)),
    "daily_regional": ("media_daily", "date", "day", ("region",)),
}


def model_sql(table: str, time_column: str, units: tuple[str, ...], process: MediaProcess) -> str:
    """The model: the raw table with its period typed as a date."""
    columns = ", ".join([f"cast(period as date) as {time_column}", *units, *process.nodes])
    return f"select {columns}\nfrom {{{{ source('raw', '{table}') }}}}\n"


def model_yaml(name: str, time_column: str, grain: str, units: tuple[str, ...], process: MediaProcess) -> str:
    """The model's YAML: the graph (target, grain, each node's parents) in its ``ici`` meta."""
    parents = {n: [p for p, c in process.edges if c == n] for n in process.nodes}
    unit = ", ".join([time_column, *units])
    lines = [
        "models:",
        f"  - name: {name}",
        "    config:",
        "      meta:",
        "        ici:",
        f"          target: {process.target}",
        f"          time_column: {time_column}",
        f"          time_grain: {grain}",
        f"          unit: [{unit}]",
        "          n_bootstrap: 100",
        "    columns:",
        *[f"      - name: {c}" for c in (time_column, *units)],
    ]
    for node, ps in parents.items():
        lines += [f"      - name: {node}", f"        config: {{meta: {{ici: {{parents: [{', '.join(ps)}]}}}}}}"]
    return "\n".join(lines) + "\n"


def sources_yaml(tables: list[str]) -> str:
    return "sources:\n  - name: raw\n    tables:\n" + "".join(f"      - name: {t}\n" for t in tables)


def write_dbt_project(root: Path, process: MediaProcess, shapes: list[str]) -> Path:
    """The user's dbt project (``root/dbt``): one model per table shape, with its ``ici`` meta."""
    dbt = root / "dbt"
    (dbt / "models").mkdir(parents=True)
    (dbt / "dbt_project.yml").write_text(DBT_PROJECT)
    (dbt / "models" / "sources.yml").write_text(sources_yaml([MODELS[s][0] for s in shapes]))
    for shape in shapes:
        name, time_column, grain, units = MODELS[shape]
        (dbt / "models" / f"{name}.sql").write_text(model_sql(name, time_column, units, process))
        (dbt / "models" / f"{name}.yml").write_text(model_yaml(name, time_column, grain, units, process))
    return dbt


def write_dg_project(root: Path) -> None:
    """The dg project around it: pyproject.toml and ``my_ici/definitions.py`` (defs.yaml comes from dg scaffold)."""
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "my_ici" / "defs").mkdir(parents=True)
    (root / "my_ici" / "__init__.py").write_text("")
    (root / "my_ici" / "definitions.py").write_text(DEFINITIONS)
