"""The demo's code location: the components of ``ici_assets/demo/defs`` (``dg dev``, ``dagster dev -w workspace.yaml``).

``defs/marketing/defs.yaml`` declares the demo dbt project as an ``ici_assets.IciDbtProjectComponent``;
``defs/demo_data.py`` adds the demo generator and the ``ici_demo`` job. The warehouse is the demo profile
target's (``$DBT_TARGET``): the DuckDB file ``$ICI_WAREHOUSE`` (default ``data/warehouse.duckdb``), or
PostgreSQL with ``DBT_TARGET=postgres``.
"""

from pathlib import Path
from typing import Any

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).resolve().parent)


def build_demo_definitions(
    project_dir: str | Path, warehouse: str | Path | None = None, *, target: str | None = None, **component_args: Any
) -> dg.Definitions:
    """:func:`ici_assets.build_definitions` plus the demo's generator and ``ici_demo`` job (tests, benchmarks)."""
    from ici_assets.assets.resources import WarehouseResource
    from ici_assets.component.build import build_definitions
    from ici_assets.component.dbt_cli import dbt_project
    from ici_assets.component.project import scoped_env
    from ici_assets.demo.raw_assets import demo_definitions
    from ici_assets.warehouse.dbt_target import WAREHOUSE_ENV

    if warehouse is None:  # the profile's target, perhaps a server: reports in data/reports beside the project
        component_args.setdefault("reports_dir", str(Path(project_dir).resolve().parent / "data" / "reports"))
    defs = build_definitions(project_dir, warehouse, target=target, **component_args)
    project = dbt_project(project_dir, component_args.get("profiles_dir"), target)
    env = {WAREHOUSE_ENV: str(Path(warehouse).resolve())} if warehouse else {}
    with scoped_env(env):  # the demo's writers are in the one-writer pool unless the target is a server
        resource = WarehouseResource.for_dbt_target(
            project.project_dir, profiles_dir=project.profiles_dir, target=project.target
        )
    return dg.Definitions.merge(defs, demo_definitions(project.project_dir, resource))
