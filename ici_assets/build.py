"""Build Dagster definitions: raw tables -> dbt models -> fitted SCM -> ICI shares, for every ``ici`` model.

Importing this module builds nothing; ``ici_assets.definitions`` builds ``defs`` for ``dagster dev``.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from ici_assets.assets import LastClickSource, build_ici_assets
from ici_assets.dbt import build_dbt_assets, default_translator, load_manifest, make_dbt_resource, make_project
from ici_assets.decision_assets import build_decision_assets
from ici_assets.paths import dbt_project_dir
from ici_assets.raw_assets import build_raw_marketing_tables, build_raw_media_tables
from ici_assets.resources import ComputePoolResource, WarehouseResource
from ici_assets.spec import specs_from_manifest
from ici_assets.warehouse import Relation


def build_definitions(
    project_dir: str | Path | None = None,
    warehouse: str | Path | WarehouseResource | None = None,
    *,
    include_demo_raw: bool = True,
) -> dg.Definitions:
    """Definitions for a dbt project: its models, and ICI assets for each model with ``ici`` meta.

    ``project_dir`` defaults to ``$ICI_DBT_PROJECT_DIR``. ``warehouse``: a DuckDB file, or a
    :class:`WarehouseResource`; None: the dbt target dbt builds in (``$DBT_TARGET`` or the profile's default).
    """
    project_path = Path(project_dir).resolve() if project_dir else dbt_project_dir()
    if isinstance(warehouse, WarehouseResource):
        resource = warehouse
    elif warehouse:
        resource = WarehouseResource(path=str(Path(warehouse).resolve()))
    else:
        resource = WarehouseResource.for_dbt_target(project_path)
    project = make_project(project_path, resource.dbt_cli_settings().get("target"))
    manifest = load_manifest(project)
    translator = default_translator()
    dbt_models = build_dbt_assets(project, translator, resource.pool)

    assets: list = [dbt_models]
    if include_demo_raw:
        raw = (
            build_raw_marketing_tables(resource.pool, resource.kind),
            build_raw_media_tables(resource.pool, resource.kind),
        )
        assets[:0] = list(raw)
    nodes = manifest["nodes"]
    models = {p.get("name"): uid for uid, p in nodes.items() if p.get("resource_type") == "model"}
    for spec in specs_from_manifest(manifest):
        source = None
        if spec.last_click is not None:
            lc_uid = models.get(spec.last_click.model)
            if lc_uid is None:
                raise ValueError(
                    f"dbt model '{spec.model}': meta.ici.last_click.model '{spec.last_click.model}' is not a "
                    "model of this dbt project."
                )
            source = LastClickSource(
                get_asset_key_for_model([dbt_models], spec.last_click.model), _relation(nodes[lc_uid])
            )
        model_key = get_asset_key_for_model([dbt_models], spec.model)
        relation = _relation(nodes[spec.unique_id])
        pool, kind = resource.pool, resource.kind
        assets.extend(build_ici_assets(spec, model_key, relation, source, pool=pool, kind=kind))
        assets.extend(build_decision_assets(spec, model_key, relation, pool=pool, kind=kind))

    jobs = [
        dg.define_asset_job(
            "ici_demo",
            selection=dg.AssetSelection.assets(*[a for a in assets if a.partitions_def is None]),
            description="Every unpartitioned asset: raw -> dbt -> SCM -> ICI shares",
        )
    ]
    for partitions_def, name in _partitioned_jobs(assets):
        jobs.append(
            dg.define_asset_job(
                name,
                selection=dg.AssetSelection.assets(*[a for a in assets if a.partitions_def == partitions_def]),
                description="Partitioned ICI shares; launch a backfill of all partitions from the UI or the CLI",
            )
        )
    return dg.Definitions(
        assets=assets,
        resources={
            "dbt": make_dbt_resource(project, **resource.dbt_cli_settings()),
            "warehouse": resource,
            "compute_pool": ComputePoolResource.from_env(),
        },
        jobs=jobs,
    )


def _relation(props: dict) -> Relation:
    """The table dbt builds for a manifest model node."""
    return Relation(props["schema"], props.get("alias") or props["name"])


def _partitioned_jobs(assets: list) -> list[tuple[dg.PartitionsDefinition, str]]:
    """One job per distinct partitions definition among the ICI assets (named after the asset)."""
    out: list[tuple[dg.PartitionsDefinition, str]] = []
    for a in assets:
        if a.partitions_def is not None and all(p != a.partitions_def for p, _ in out):
            key = next(iter(a.keys))
            out.append((a.partitions_def, "__".join(key.path) + "_job"))
    return out
