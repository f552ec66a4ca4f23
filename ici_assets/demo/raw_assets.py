"""The demo's raw marketing tables, generated with a known causal truth, and the demo's job.

They exist only in the demo's code location (``ici_assets/demo/defs``, or ``build_demo_definitions``). A team with
real data loads its own tables with its ingestion tool
(Airbyte, dlt, Fivetran, a COPY job...); its dbt sources point at them by name.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from ici_assets.assets.factory import UNPARTITIONED
from ici_assets.assets.resources import WarehouseResource
from ici_assets.demo.tables import N_REGIONS, RAW_LAYOUTS
from ici_assets.publish.metadata import column_schema, count
from ici_assets.publish.versions import frame_hash
from ici_assets.warehouse import WAREHOUSE_POOL

if TYPE_CHECKING:
    import pandas as pd

RAW_TABLES = ("ad_spend", "web_sessions", "orders", "demand_index", "ground_truth_ici")
RAW_DESCRIPTIONS = {
    "ad_spend": "Ad platform export: spend and impressions per date, region, channel, campaign.",
    "web_sessions": "Web analytics export: sessions per date, region, source, medium.",
    "orders": "Shop export: one row per order with its last-click channel.",
    "demand_index": "Search interest per date and region (market demand).",
    "ground_truth_ici": "Population ICI shares of the demo's data-generating process.",
}


class DemoDbtProject(dg.ConfigurableResource):
    """The dbt project the demo data feed (its vars set the TV carryover the generator draws)."""

    project_dir: str


class RawDemoConfig(dg.Config):
    """Size and seed of the generated demo data.

    The TV carryover (decay and lags of the adstock through which TV spend reaches the clicks)
    comes from the dbt project's vars ``tv_adstock_decay`` and ``tv_adstock_max_lag``, which the
    ``marketing_nodes`` mart uses to rebuild the ``tv_adstock`` node: one setting for both.
    """

    seed: int = 0
    n_regions: int = 20
    n_days: int = 730
    start_date: str = "2024-01-01"


def _raw_specs(descriptions: Mapping[str, str], kind: str) -> list[dg.AssetSpec]:
    """One spec per raw table (schema ``raw``), in the group ``raw``, of the warehouse's kind, with its declared
    column schema."""
    return [
        dg.AssetSpec(
            dg.AssetKey(["raw", t]),
            group_name="raw",
            description=d,
            kinds={kind},
            metadata=column_schema(RAW_LAYOUTS[t]),
        )
        for t, d in descriptions.items()
    ]


def build_raw_marketing_tables(pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    """The demo generator's multi-asset; ``pool`` None when the warehouse is a server (no one-writer limit)."""

    @dg.multi_asset(specs=_raw_specs(RAW_DESCRIPTIONS, kind), pool=pool, name="raw_marketing_tables")
    def _raw(
        context: dg.AssetExecutionContext, config: RawDemoConfig, warehouse: WarehouseResource, demo_dbt: DemoDbtProject
    ):
        """Generate the demo's raw tables (schema ``raw``) in one transaction."""
        yield from _generate(context, config, warehouse, demo_dbt)

    return _raw


def _generate(
    context: dg.AssetExecutionContext, config: RawDemoConfig, warehouse: WarehouseResource, demo_dbt: DemoDbtProject
):
    """Generate the demo's raw tables (schema ``raw``) in one transaction."""
    from ici_assets.demo import adstock_settings, generate_raw_tables

    decay, max_lag = adstock_settings(demo_dbt.project_dir)
    context.log.info(
        f"Generating demo data: {config.n_regions} regions x {config.n_days} days from {config.start_date}, "
        f"seed {config.seed}, TV adstock decay {decay} over {max_lag} days (dbt vars of {demo_dbt.project_dir})"
    )
    tables = generate_raw_tables(**config.model_dump(), tv_adstock_decay=decay, tv_adstock_max_lag=max_lag)
    yield from _write_raw(context, warehouse, tables, RAW_TABLES, config.seed, log_versions=True)


def _write_raw(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    tables: "dict[str, pd.DataFrame]",
    names: tuple[str, ...],
    seed: int,
    *,
    log_versions: bool = False,
) -> Iterator[dg.MaterializeResult]:
    """Write generated raw tables (schema ``raw``) in one transaction, then one materialisation per table with a
    content hash as its data version: regenerating identical data leaves everything downstream fresh, so Dagster
    knows a refit would change nothing."""
    from ici_assets.demo import write_raw_tables

    write_raw_tables(warehouse.get(), tables)
    for name in names:
        frame = tables[name]
        version = frame_hash(frame)
        if log_versions:
            context.log.info(f"raw.{name}: {len(frame):,} rows, data version {version}")
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", name]),
            metadata={"dagster/row_count": len(frame), "seed": count(seed)},
            data_version=dg.DataVersion(version),
        )


MEDIA_TABLES = ("media_daily", "ground_truth_response", "ground_truth_change", "ground_truth_returns")
MEDIA_DESCRIPTIONS = {
    "media_daily": "Second shop's daily export per region: demand index, TV and social spend, sessions, revenue.",
    "ground_truth_response": "True E[revenue | do(spend = level)] of the media model, per node and level.",
    "ground_truth_change": "True attribution of each month's change in mean revenue of the media model.",
    "ground_truth_returns": "True revenue each spend channel causes in media_daily against zero spend, and its ROI.",
}


class RawMediaConfig(dg.Config):
    """Seed and number of regions of the media model's demo data (its dates and events are fixed:
    ici_assets/demo/media.py)."""

    seed: int = 0
    n_regions: int = N_REGIONS  # regions of raw.media_daily (daily, 2024-01-01 to 2025-12-31)


def build_raw_media_tables(pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    """The media model's raw table and its truth; ``pool`` None when the warehouse is a server."""

    @dg.multi_asset(specs=_raw_specs(MEDIA_DESCRIPTIONS, kind), pool=pool, name="raw_media_tables")
    def _raw_media(context: dg.AssetExecutionContext, config: RawMediaConfig, warehouse: WarehouseResource):
        """Generate the media model's raw table and its truth (schema ``raw``) in one transaction."""
        yield from _generate_media(context, config, warehouse)

    return _raw_media


def _generate_media(context: dg.AssetExecutionContext, config: RawMediaConfig, warehouse: WarehouseResource):
    """Generate the media model's raw table and its truth (schema ``raw``) in one transaction."""
    from ici_assets.demo.media import CTR_DROP_MONTH, TV_FLIGHT_MONTH, media_tables

    context.log.info(
        f"Generating the media demo (seed {config.seed}): click-through drop in {CTR_DROP_MONTH}, "
        f"TV flight in {TV_FLIGHT_MONTH}"
    )
    tables = media_tables(config.seed, config.n_regions)
    yield from _write_raw(context, warehouse, tables, MEDIA_TABLES, config.seed)


CALIBRATION_TABLES = ("weekly_sales", "lift_tests", "ground_truth_calibration")
CALIBRATION_DESCRIPTIONS = {
    "weekly_sales": "Third shop's weekly national export: TV and social spend, search sessions, revenue. Its TV "
    "spend follows a demand signal that is in no table, so least squares overstates TV's return.",
    "lift_tests": "The third shop's lift tests, one row per test: node, unit, start_period, end_period, "
    "spend_change, lift, lift_se (here one national TV test, measured at the true lift).",
    "ground_truth_calibration": "True return (EUR of revenue per EUR) and ICI share of each node of the weekly model.",
}


class RawCalibrationConfig(dg.Config):
    """Seed of the weekly model's demo data (156 weeks, its lift test and truth: demo/calibration_case.py)."""

    seed: int = 0


def build_raw_calibration_tables(pool: str | None = WAREHOUSE_POOL, kind: str = "duckdb") -> dg.AssetsDefinition:
    """The weekly model's raw table, its lift tests and its truth; ``pool`` None when the warehouse is a server."""

    @dg.multi_asset(specs=_raw_specs(CALIBRATION_DESCRIPTIONS, kind), pool=pool, name="raw_calibration_tables")
    def _raw_calibration(context: dg.AssetExecutionContext, config: RawCalibrationConfig, warehouse: WarehouseResource):
        """Generate the weekly model's raw tables (schema ``raw``) in one transaction."""
        from ici_assets.demo.calibration_case import calibration_tables

        context.log.info(f"Generating the weekly calibration demo (seed {config.seed}): TV spend follows hidden demand")
        tables = calibration_tables(config.seed)
        yield from _write_raw(context, warehouse, tables, CALIBRATION_TABLES, config.seed)

    return _raw_calibration


#: The HTML reports (``ici/<model>/report``): the last step, once the partitions have published their months.
REPORTS = dg.AssetSelection.tag("dagster/kind/html", "")

#: Every demo asset but the partitioned ones and the reports: raw tables -> dbt -> SCM -> shares and decisions (what
#: ``make demo`` runs first). The reports read what the partitions publish ("why revenue moved"), so they are
#: ``ici_reports``'s, run after the partitions: rendering them here too only to render them again cost ~7 s.
ICI_DEMO_JOB = dg.define_asset_job(
    "ici_demo",
    selection=UNPARTITIONED - REPORTS,
    description="Every unpartitioned asset but the reports: raw -> dbt -> SCM -> ICI shares and decisions",
    executor_def=dg.in_process_executor,  # one writer chain: a process per step would only add definition loads
)


#: The models' reports again, after the backfills: their "why revenue moved" section reads the monthly changes.
ICI_REPORTS_JOB = dg.define_asset_job(
    "ici_reports",
    selection=REPORTS,
    description="Every model's HTML report (ici/<model>/report), from the tables published so far",
    executor_def=dg.in_process_executor,
)


def demo_definitions(project_dir: str | Path, warehouse: WarehouseResource | None = None) -> dg.Definitions:
    """The demo generators (marketing, media and weekly calibration models) and the ``ici_demo`` job, for the dbt
    project there; in the one-writer pool unless the warehouse (default: the project's dbt target) is a server."""
    resource = warehouse or WarehouseResource.for_dbt_target(project_dir)
    return dg.Definitions(
        assets=[
            build_raw_marketing_tables(resource.pool, resource.kind),
            build_raw_media_tables(resource.pool, resource.kind),
            build_raw_calibration_tables(resource.pool, resource.kind),
        ],
        jobs=[ICI_DEMO_JOB, ICI_REPORTS_JOB],
        resources={"demo_dbt": DemoDbtProject(project_dir=str(Path(project_dir).resolve()))},
    )
