"""Where the demo's things live: the repository, its embedded warehouse (``$ICI_WAREHOUSE``).

A user's project names its own dbt project (defs.yaml or ``build_definitions``) and its warehouse
(the dbt profile target's path).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root (the folder holding ``ici_assets/`` and ``dbt_project/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable naming the DuckDB warehouse file.
WAREHOUSE_ENV = "ICI_WAREHOUSE"


def warehouse_path() -> Path:
    """Absolute path of the DuckDB warehouse: ``$ICI_WAREHOUSE`` or ``data/warehouse.duckdb``."""
    raw = os.environ.get(WAREHOUSE_ENV) or str(REPO_ROOT / "data" / "warehouse.duckdb")
    return Path(raw).expanduser().resolve()
