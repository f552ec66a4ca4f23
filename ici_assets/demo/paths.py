"""Where the demo's things live: its project folder (a clone of this repository) and its DuckDB warehouse.

The demo needs the repository's ``dbt_project/`` and ``workspace.yaml``; the library does not. A user's
project names its own dbt project (defs.yaml or ``build_definitions``) and its warehouse (the dbt profile
target's path). Nothing here is resolved at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

from ici_assets.warehouse.dbt_target import WAREHOUSE_ENV

#: Environment variable naming the demo's project folder (a clone of the repository).
DEMO_ROOT_ENV = "ICI_DEMO_ROOT"


def _is_demo_root(folder: Path) -> bool:
    return (folder / "dbt_project" / "dbt_project.yml").is_file() and (folder / "workspace.yaml").is_file()


def demo_root() -> Path:
    """The demo's project folder: ``$ICI_DEMO_ROOT``, else the clone this package runs from, else the
    nearest folder at or above the current one holding ``dbt_project/`` and ``workspace.yaml``."""
    if os.environ.get(DEMO_ROOT_ENV):
        folder = Path(os.environ[DEMO_ROOT_ENV]).expanduser().resolve()
        if not _is_demo_root(folder):
            raise FileNotFoundError(
                f"${DEMO_ROOT_ENV}={folder} holds no dbt_project/dbt_project.yml and workspace.yaml: point it at "
                "a clone of the ici-assets repository."
            )
        return folder
    here = Path(__file__).resolve().parents[2]  # the clone, for a checkout or an editable install
    cwd = Path.cwd().resolve()
    for folder in (here, cwd, *cwd.parents):
        if _is_demo_root(folder):
            return folder
    raise FileNotFoundError(
        "The demo needs a clone of the ici-assets repository (its dbt_project/ and workspace.yaml): run it from "
        f"the clone, or set ${DEMO_ROOT_ENV}. Your own project needs neither (see docs: own project)."
    )


def demo_dbt_project() -> Path:
    """The demo's dbt project (``dbt_project/`` in the demo's folder)."""
    return demo_root() / "dbt_project"


def warehouse_path() -> Path:
    """Absolute path of the demo's DuckDB warehouse: ``$ICI_WAREHOUSE`` or ``data/warehouse.duckdb`` in its folder."""
    raw = os.environ.get(WAREHOUSE_ENV) or str(demo_root() / "data" / "warehouse.duckdb")
    return Path(raw).expanduser().resolve()
