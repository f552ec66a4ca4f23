"""Where things live: the dbt project, the embedded warehouse, the Dagster home.

Every location can be overridden with an environment variable so that tests and
deployments point the same definitions at other files without code changes.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root (the folder holding ``ici_assets/`` and ``dbt_project/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable naming the DuckDB warehouse file.
WAREHOUSE_ENV = "ICI_WAREHOUSE"
#: Environment variable naming the dbt project folder.
DBT_PROJECT_ENV = "ICI_DBT_PROJECT_DIR"


def warehouse_path() -> Path:
    """Absolute path of the DuckDB warehouse: ``$ICI_WAREHOUSE`` or ``data/warehouse.duckdb``."""
    raw = os.environ.get(WAREHOUSE_ENV) or str(REPO_ROOT / "data" / "warehouse.duckdb")
    return Path(raw).expanduser().resolve()


def dbt_project_dir() -> Path:
    """Absolute path of the dbt project: ``$ICI_DBT_PROJECT_DIR`` or ``dbt_project/``."""
    raw = os.environ.get(DBT_PROJECT_ENV) or str(REPO_ROOT / "dbt_project")
    return Path(raw).expanduser().resolve()
