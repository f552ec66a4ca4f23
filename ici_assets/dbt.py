"""dbt models as Dagster assets (dagster-dbt): keys, groups, and dbt tests as asset checks."""

import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from ici_assets.paths import WAREHOUSE_ENV
from ici_assets.resources import WarehouseResource
from ici_assets.warehouse import WAREHOUSE_POOL


class IciDbtTranslator(DagsterDbtTranslator):
    """Groups dbt models by folder (staging, marts); sources keep ``raw/<table>`` keys.

    dbt source ``raw.ad_spend`` maps to asset key ``raw/ad_spend``, the key of the raw-table
    asset that writes it, so lineage runs raw -> staging -> marts without extra wiring.
    """

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "source":
            return "raw"
        fqn = dbt_resource_props.get("fqn") or []
        return fqn[1] if len(fqn) > 2 else "dbt"


def dbt_executable() -> str:
    """The dbt installed beside this Python (a venv need not be activated), else ``dbt`` on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def make_dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, profiles_dir=str(project.project_dir), dbt_executable=dbt_executable())


def make_project(project_dir: Path) -> DbtProject:
    """The DbtProject, with its manifest parsed now when running under ``dagster dev``."""
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    project.prepare_if_dev()
    return project


def prepare_manifest(project_dir: Path) -> Path:
    """Run ``dbt parse`` so ``target/manifest.json`` exists (needed outside ``dagster dev``)."""
    project = DbtProject(project_dir=project_dir, profiles_dir=project_dir)
    make_dbt_resource(project).cli(["parse", "--quiet"], target_path=Path(project.target_path)).wait()
    return Path(project.manifest_path)


def load_manifest(project: DbtProject) -> dict[str, Any]:
    """The parsed dbt manifest, or a clear error saying how to create it."""
    path = Path(project.manifest_path)
    if not path.exists():
        raise FileNotFoundError(f"dbt manifest {path} not found: run `make parse` (dbt parse) or `make demo` first.")
    return json.loads(path.read_text())


def build_dbt_assets(project: DbtProject, translator: DagsterDbtTranslator) -> dg.AssetsDefinition:
    """One multi-asset for every dbt model; dbt tests become asset checks."""

    @dbt_assets(
        manifest=project.manifest_path,  # no project=: it would show as an unserialisable metadata entry
        dagster_dbt_translator=translator,
        pool=WAREHOUSE_POOL,
        name="dbt_models",
    )
    def _dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
        context.log.info(f"dbt build against {warehouse.path}")
        # dbt runs as a subprocess that reads the warehouse path from its environment, which
        # is copied when the subprocess starts; restore ours afterwards.
        previous = os.environ.get(WAREHOUSE_ENV)
        os.environ[WAREHOUSE_ENV] = warehouse.path
        try:
            invocation = dbt.cli(["build"], context=context)
        finally:
            if previous is None:
                os.environ.pop(WAREHOUSE_ENV, None)
            else:
                os.environ[WAREHOUSE_ENV] = previous
        yield from invocation.stream()

    return _dbt_models


def default_translator() -> IciDbtTranslator:
    return IciDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
