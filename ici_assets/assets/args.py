"""What every published ICI and decision asset shares: its key, group, blocking checks, pool and table schema.

A model's ICI assets form one group, ``ici_<model>``: the lineage and the catalog tell two models' ``scm`` and
``shares`` apart (one ``ici`` group for all would draw them side by side with the same labels).

Each asset module states only what is its own (the upstream, the checks, the table it publishes, the
description); :func:`published_asset_args` turns that into the ``@dg.asset`` arguments, so all of a model's
ICI assets look alike in the UI and behave alike in a run.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dagster as dg

from ici_assets.assets.automation import automation_condition
from ici_assets.assets.resources import ComputePoolResource, WarehouseResource
from ici_assets.checks.asset_checks import check_specs
from ici_assets.checks.stability import warn_only
from ici_assets.compute import Pool
from ici_assets.publish.metadata import column_schema
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import TableLayout, Warehouse

#: A partitioned asset's step: (context, warehouse, compute pool) -> its materialisations, then its checks.
PartitionsStep = Callable[
    [dg.AssetExecutionContext, Warehouse, Pool], Iterator[dg.AssetMaterialization | dg.AssetCheckResult]
]

#: Tag (empty value) of the partitioned ICI assets: jobs of whole-period assets select around them.
PARTITIONED_TAG = "ici/partitioned"


def ici_group(spec: IciSpec) -> str:
    """``ici_<model>``: the asset group of one model's ICI and decision assets."""
    return f"ici_{spec.model}"


def ici_key(spec: IciSpec, name: str) -> dg.AssetKey:
    """``ici/<model>/<name>``: the key of one of a model's ICI or decision assets."""
    return dg.AssetKey(["ici", spec.model, name])


def published_asset_args(
    spec: IciSpec,
    name: str,
    table: TableLayout | None,
    checks: Iterable[str],
    code_version: str,
    description: str,
    *,
    pool: str | None,
    kind: str,
    upstream: dg.AssetKey | None = None,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dict[str, Any]:
    """The ``@dg.asset`` arguments of ``ici/<model>/<name>``, which publishes ``table`` after blocking ``checks``.

    Without ``upstream`` the asset takes the fitted model (``ici/<model>/scm``) as its input ``fit``; with it,
    it depends on that asset (a dbt model) and reads the warehouse itself. A ``partitions_def`` makes it a
    partitioned asset whose backfill is one run, tagged so whole-period jobs leave it out. ``pool``: the
    concurrency pool of steps that write the warehouse (None for a server); ``kind``: the warehouse's type.
    """
    key = ici_key(spec, name)
    args: dict[str, Any] = {
        "key": key,
        "group_name": ici_group(spec),
        "code_version": code_version,
        "check_specs": check_specs(key, checks, warn=warn_only(spec)),
        "output_required": False,
        "kinds": {"python", kind},
        "pool": pool,
        "metadata": column_schema(table) if table is not None else {},
        "description": description,
        "automation_condition": automation_condition(spec, partitions_def),
    }
    if upstream is None:
        args["ins"] = {"fit": dg.AssetIn(ici_key(spec, "scm"))}
    else:
        args["deps"] = [upstream]
    if partitions_def is not None:
        args.update(
            partitions_def=partitions_def,
            backfill_policy=dg.BackfillPolicy.single_run(),
            tags={PARTITIONED_TAG: ""},
        )
    return args


def fanned_out_asset(asset_args: dict[str, Any], step: PartitionsStep) -> dg.AssetsDefinition:
    """A partitioned asset (``asset_args`` from :func:`published_asset_args` with a ``partitions_def``): one run
    computes every requested partition in ``step``, which fans them out to the compute pool and publishes the
    rows of those that pass their checks."""

    @dg.asset(**asset_args)
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource, compute_pool: ComputePoolResource):
        yield from step(context, warehouse.get(), compute_pool.get())

    return _asset
