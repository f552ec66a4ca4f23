"""The demo's raw marketing tables, generated with a known causal truth.

A team with real data replaces this asset with its own ingestion (Airbyte, dlt, Fivetran,
a COPY job...) that writes the same tables; the dbt sources point at them by name.
"""

import dagster as dg

from ici_assets.demo.raw_data import TV_ADSTOCK_DECAY, TV_ADSTOCK_MAX_LAG
from ici_assets.factory import WAREHOUSE_POOL
from ici_assets.resources import WarehouseResource
from ici_assets.versions import frame_hash

RAW_TABLES = ("ad_spend", "web_sessions", "orders", "demand_index", "ground_truth_ici")
RAW_DESCRIPTIONS = {
    "ad_spend": "Ad platform export: spend and impressions per date, region, channel, campaign.",
    "web_sessions": "Web analytics export: sessions per date, region, source, medium.",
    "orders": "Shop export: one row per order with its last-click channel.",
    "demand_index": "Search interest per date and region (market demand).",
    "ground_truth_ici": "Population ICI shares of the demo's data-generating process.",
}


class RawDemoConfig(dg.Config):
    """Size and seed of the generated demo data, and its TV carryover.

    ``tv_adstock_decay``/``tv_adstock_max_lag`` shape the geometric adstock through which TV
    spend reaches the clicks; keep them equal to the dbt vars of the same names, which the
    ``marketing_nodes`` mart uses to rebuild the ``tv_adstock`` node (0 and 0: no carryover).
    """

    seed: int = 0
    n_regions: int = 20
    n_days: int = 730
    start_date: str = "2024-01-01"
    tv_adstock_decay: float = TV_ADSTOCK_DECAY
    tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG


@dg.multi_asset(
    specs=[
        dg.AssetSpec(dg.AssetKey(["raw", t]), group_name="raw", description=RAW_DESCRIPTIONS[t], kinds={"duckdb"})
        for t in RAW_TABLES
    ],
    pool=WAREHOUSE_POOL,
    name="raw_marketing_tables",
)
def raw_marketing_tables(context: dg.AssetExecutionContext, config: RawDemoConfig, warehouse: WarehouseResource):
    """Generate the demo's raw tables (schema ``raw``) in one transaction."""
    from ici_assets.demo.raw_data import generate_raw_tables, write_raw_tables

    context.log.info(
        f"Generating demo data: {config.n_regions} regions x {config.n_days} days from {config.start_date}, "
        f"seed {config.seed}, TV adstock decay {config.tv_adstock_decay} over {config.tv_adstock_max_lag} days"
    )
    tables = generate_raw_tables(
        seed=config.seed,
        n_regions=config.n_regions,
        start_date=config.start_date,
        n_days=config.n_days,
        tv_adstock_decay=config.tv_adstock_decay,
        tv_adstock_max_lag=config.tv_adstock_max_lag,
    )
    with warehouse.connect() as con:
        write_raw_tables(con, tables)
    for name in RAW_TABLES:
        frame = tables[name]
        version = frame_hash(frame)
        context.log.info(f"raw.{name}: {len(frame):,} rows, data version {version}")
        # A content hash as data version: regenerating identical data leaves everything
        # downstream fresh, so Dagster knows a refit would change nothing.
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", name]),
            metadata={"dagster/row_count": len(frame), "seed": config.seed},
            data_version=dg.DataVersion(version),
        )
