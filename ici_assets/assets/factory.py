"""The ICI side of a code location: for every dbt model with an ``ici`` meta, its assets and jobs.

Each model's assets come from a list of builders (:data:`ASSET_BUILDERS`), each a function of the
model (:class:`IciModel`) returning assets: whole-period SCM and shares, the last-click comparison,
the partitioned shares, the decision assets of a ``decisions`` block, the anomalies asset of an
``anomalies`` block. A new kind of asset per model is one more builder in that list. Jobs are named after
their model: ``ici__<model>_job`` (the model, the dbt models upstream of it and its whole-period ICI and
decision assets) and one per partitioned asset (``ici__<model>__shares_by_month_job``,
``ici__<model>__change_attribution_job``...). They run their steps in the run's own process: the steps form
a chain (dbt, SCM, shares) that writes one DuckDB file, so separate step processes would only add a
definitions load each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import dagster as dg

from ici_assets.assets.alerts import anomalies_webhook_sensor
from ici_assets.assets.anomalies import anomalies_asset
from ici_assets.assets.args import PARTITIONED_TAG
from ici_assets.assets.automation import automation_sensor
from ici_assets.assets.calibration import ExperimentsSource
from ici_assets.assets.decisions import budget_asset, change_attribution_asset, spend_response_asset
from ici_assets.assets.ici import LastClickSource, partitioned_asset, scm_asset, shares_asset
from ici_assets.assets.ici import vs_last_click_asset as _vs_last_click_asset
from ici_assets.assets.partitions import schemes
from ici_assets.assets.report import report_asset
from ici_assets.assets.resources import ComputePoolResource, WarehouseResource, asset_resources
from ici_assets.spec.automation import AutomationSettings
from ici_assets.spec.parse import IciMetaError, IciSpec, specs_from_manifest
from ici_assets.warehouse import WAREHOUSE_POOL, Relation


@dataclass(frozen=True)
class IciModel:
    """One dbt model with an ``ici`` meta, and where its inputs live."""

    spec: IciSpec
    key: dg.AssetKey  # the dbt model's asset key
    relation: Relation  # the table dbt builds for it
    last_click: LastClickSource | None = None
    pool: str | None = WAREHOUSE_POOL  # concurrency pool of the steps that write the warehouse (None: a server)
    kind: str = "duckdb"  # the warehouse's type, for asset kinds
    owners: tuple[str, ...] = ()  # the dbt model's owners and tags (meta.dagster.owners, its group's owner,
    tags: Mapping[str, str] = field(default_factory=dict)  # dbt tags), which its ICI assets carry too
    description: str = ""  # the dbt model's own description, which starts each of its ICI assets'
    reports_dir: str | None = None  # where ici/<model>/report writes its page (None: beside the DuckDB file)
    experiments: ExperimentsSource | None = None  # the dbt model of lift tests the SCM is calibrated to


def with_model_identity(model: IciModel, asset: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The asset with the dbt model's owners and tags added to its own (an asset's own tag wins), and its
    description starting with the dbt model's: what the model is comes first, then what this asset computes."""
    about = model.description.strip()
    if not model.owners and not model.tags and not about:
        return asset
    return asset.map_asset_specs(
        lambda s: s.replace_attributes(
            owners=list(dict.fromkeys([*s.owners, *model.owners])),
            tags={**model.tags, **s.tags},
            description=f"{about}\n\n{s.description or ''}".strip() if about else s.description,
        )
    )


AssetBuilder = Callable[[IciModel], list[dg.AssetsDefinition]]


def whole_period_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/scm`` and ``ici/<model>/shares``."""
    return [
        scm_asset(model.spec, model.key, model.relation, model.experiments),
        shares_asset(model.spec, model.pool, model.kind),
    ]


def last_click_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/ici_vs_last_click`` when the meta names a last-click model."""
    if model.last_click is None:
        return []
    return [_vs_last_click_asset(model.spec, model.last_click, model.pool, model.kind)]


def partitioned_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/shares_by_month`` and ``ici/<model>/shares_by_<segment>`` when the meta asks for them."""
    return [
        partitioned_asset(model.spec, model.key, model.relation, s, model.pool, model.kind) for s in schemes(model.spec)
    ]


def decision_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/spend_response``, ``budget`` and ``change_attribution`` as the meta's ``decisions`` asks."""
    decisions = model.spec.decisions
    if decisions is None:
        return []
    assets = [spend_response_asset(model.spec, model.pool, model.kind)]
    if decisions.budget is not None:
        assets.append(budget_asset(model.spec, model.pool, model.kind))
    if decisions.change_attribution is not None:
        assets.append(change_attribution_asset(model.spec, model.key, model.relation, model.pool, model.kind))
    return assets


def anomaly_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/anomalies`` when the meta has an ``anomalies`` block."""
    if model.spec.anomalies is None:
        return []
    return [anomalies_asset(model.spec, model.relation, model.pool, model.kind)]


def report_assets(model: IciModel) -> list[dg.AssetsDefinition]:
    """``ici/<model>/report``: the model's one-page HTML report."""
    return [report_asset(model.spec, model.reports_dir, model.pool, model.kind)]


#: What every model with an ``ici`` meta gets, in order.
ASSET_BUILDERS: list[AssetBuilder] = [
    whole_period_assets,
    last_click_assets,
    partitioned_assets,
    decision_assets,
    anomaly_assets,
    report_assets,
]


def model_sensors(model: IciModel) -> list[dg.SensorDefinition]:
    """The anomalies alert when the meta's ``anomalies`` block names a webhook."""
    anomalies = model.spec.anomalies
    if anomalies is None or anomalies.webhook is None:
        return []
    return [anomalies_webhook_sensor(model.spec)]


def relation_of(props: Mapping[str, Any]) -> Relation:
    """The table dbt builds for a manifest model node."""
    return Relation(props["schema"], props.get("alias") or props["name"])


def ici_models(
    manifest: Mapping[str, Any], key_for: Callable[[str], dg.AssetKey], defaults: Mapping[str, Any] | None = None
) -> list[IciModel]:
    """Every model of the manifest with an ``ici`` meta; ``key_for`` maps a manifest unique_id to its asset key."""
    nodes = manifest["nodes"]
    by_name = {p.get("name"): uid for uid, p in nodes.items() if p.get("resource_type") == "model"}
    tables = {p.get("name"): uid for uid, p in nodes.items() if p.get("resource_type") in ("model", "seed")}
    out = []
    for spec in specs_from_manifest(manifest, defaults):
        source = None
        if spec.last_click is not None:
            uid = by_name.get(spec.last_click.model)
            if uid is None:
                raise IciMetaError(
                    f"dbt model '{spec.model}': meta.ici.last_click.model '{spec.last_click.model}' is not a "
                    "model of this dbt project."
                )
            source = LastClickSource(key_for(uid), relation_of(nodes[uid]))
        experiments = None
        if spec.experiments is not None:
            uid = tables.get(spec.experiments.model)
            if uid is None:
                raise IciMetaError(
                    f"dbt model '{spec.model}': meta.ici.experiments.model '{spec.experiments.model}' is not a "
                    "model or seed of this dbt project: add the dbt model (or seed) holding the lift tests, or fix "
                    "the name."
                )
            experiments = ExperimentsSource(key_for(uid), relation_of(nodes[uid]))
        props = nodes[spec.unique_id]
        out.append(
            IciModel(
                spec,
                key_for(spec.unique_id),
                relation_of(props),
                source,
                description=str(props.get("description") or ""),
                experiments=experiments,
            )
        )
    return out


def model_jobs(model: IciModel, assets: list[dg.AssetsDefinition], dbt_keys: set[dg.AssetKey]) -> list:
    """The model's jobs: whole-period ICI assets with the dbt models upstream of them, and one per partitioned asset."""
    whole = [k for a in assets if a.partitions_def is None for k in a.keys]
    upstream = dg.AssetSelection.assets(*whole).upstream() & dg.AssetSelection.assets(*dbt_keys, *whole)
    jobs = [
        dg.define_asset_job(
            f"ici__{model.spec.model}_job",
            selection=upstream,
            description=f"dbt model `{model.spec.model}` (and the dbt models it reads), then its ICI assets",
            executor_def=dg.in_process_executor,
        )
    ]
    for a in assets:
        if a.partitions_def is not None:
            jobs.append(
                dg.define_asset_job(
                    "__".join(a.key.path) + "_job",
                    selection=dg.AssetSelection.assets(a),
                    description="Partitioned ICI shares; a backfill of all partitions is one run",
                    executor_def=dg.in_process_executor,
                )
            )
    return jobs


def ici_definitions(
    models: list[IciModel],
    dbt_keys: set[dg.AssetKey],
    *,
    warehouse: WarehouseResource,
    compute_pool: ComputePoolResource,
    builders: list[AssetBuilder] | None = None,
    automation: AutomationSettings | None = None,
    sensor_name: str = "ici_automation",
    reports_dir: str | None = None,
) -> dg.Definitions:
    """The ICI assets and jobs of ``models``, with the resources they use and the sensor that materialises them
    by themselves (``automation``: its settings; each model's own conditions come from its meta). ``reports_dir``:
    where the models' HTML reports go (None: a ``reports/`` folder beside the DuckDB warehouse)."""
    assets: list[dg.AssetsDefinition] = []
    jobs: list = []
    sensors: list[dg.SensorDefinition] = []
    for model in models:
        model = replace(model, pool=warehouse.pool, kind=warehouse.kind)  # no one-writer pool on a server
        if reports_dir is not None:
            model = replace(model, reports_dir=reports_dir)
        built = [with_model_identity(model, a) for build in (builders or ASSET_BUILDERS) for a in build(model)]
        assets += built
        jobs += model_jobs(model, built, dbt_keys)
        sensors += model_sensors(model)
    automation_sensor_def = automation_sensor(sensor_name, assets, automation)
    if automation_sensor_def is not None:
        sensors.append(automation_sensor_def)
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=sensors,
        resources=asset_resources(warehouse, compute_pool=compute_pool),
    )


#: Every whole-period asset of a code location (no partitioned ICI asset), e.g. for a demo's "run it all" job.
UNPARTITIONED = dg.AssetSelection.all().materializable() - dg.AssetSelection.tag(PARTITIONED_TAG, "")
