"""``build_definitions``: the component's definitions from Python, for projects not on ``dg``.

    # definitions.py
    from ici_assets.component.build import build_definitions
    defs = build_definitions("path/to/dbt_project")          # the warehouse is the dbt profile target's

It builds exactly what ``type: ici_assets.IciDbtProjectComponent`` builds from a ``defs.yaml`` (the same
class), preparing the manifest when it is missing or stale. Importing this module builds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from dagster.components import build_defs_for_component

from ici_assets.assets.resources import WarehouseResource
from ici_assets.component.dbt_cli import dbt_project
from ici_assets.component.project import IciDbtProjectComponent, scoped_env
from ici_assets.warehouse.dbt_target import WAREHOUSE_ENV


def build_definitions(
    project_dir: str | Path,
    warehouse: str | Path | None = None,
    *,
    profiles_dir: str | Path | None = None,
    target: str | None = None,
    **component_args: Any,
) -> dg.Definitions:
    """Definitions for a dbt project: its models, and ICI assets for each model with ``ici`` meta.

    ``warehouse``: a DuckDB file for both sides, passed to dbt as ``$ICI_WAREHOUSE`` (the profile must read
    its path from that variable); by default the profile target's own path. ``component_args``: any other attribute of
    :class:`~ici_assets.component.project.IciDbtProjectComponent` (``ici_defaults``, ``compute_pool``...).
    """
    project = dbt_project(project_dir, profiles_dir, target)
    env = {WAREHOUSE_ENV: str(Path(warehouse).resolve())} if warehouse else {}
    if warehouse:
        with scoped_env(env):
            used = WarehouseResource.for_dbt_target(
                project.project_dir, profiles_dir=project.profiles_dir, target=project.target
            )
        if Path(used.path) != Path(env[WAREHOUSE_ENV]):
            raise ValueError(
                f"dbt's profile target for {project.project_dir} writes to {used.path}, not to the warehouse "
                f"{env[WAREHOUSE_ENV]} given to build_definitions: make the target's path "
                f"\"{{{{ env_var('{WAREHOUSE_ENV}') }}}}\", or leave the warehouse argument out."
            )
    component = IciDbtProjectComponent(
        project=project, dbt_env={**env, **component_args.pop("dbt_env", {})}, **component_args
    )
    return build_defs_for_component(component)
