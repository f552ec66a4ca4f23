"""The demo's raw tables in the warehouse: their layouts, and one transaction that replaces them all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ici_assets.warehouse import Recreate, TableLayout, Warehouse, table

if TYPE_CHECKING:
    import pandas as pd

RAW_SCHEMA = "raw"
N_REGIONS = 20  # regions of raw.media_daily (the media-mix case of demo/media.py)
RAW_LAYOUTS: dict[str, TableLayout] = {
    name: table(RAW_SCHEMA, name, columns)
    for name, columns in {
        "ad_spend": "date date, region text, channel text, campaign text, spend money, impressions integer",
        "web_sessions": "date date, region text, source text, medium text, sessions integer",
        "orders": "order_id integer, ordered_at timestamp, region text, revenue money, last_click_channel text",
        "demand_index": "date date, region text, search_interest float",
        "ground_truth_ici": "node text, ici float, share float",
        "media_daily": "date date, region text, demand_index float, tv_spend_eur money, social_spend_eur money, "
        "search_sessions integer, social_sessions integer, revenue_eur money",
        "ground_truth_response": "node text, level float, expected_revenue float",
        "ground_truth_change": "period date, baseline_period date, node text, contribution float, change float",
        "ground_truth_returns": "node text, spend float, incremental_revenue float, roi float",
        "weekly_sales": "date date, tv_spend_eur money, social_spend_eur money, search_sessions integer, "
        "revenue_eur money",
        "lift_tests": "test text, node text, unit text, start_period date, end_period date, spend_change float, "
        "lift float, lift_se float",
        "ground_truth_calibration": "node text, true_return float, share float",
    }.items()
}


def write_raw_tables(warehouse: Warehouse, tables: Mapping[str, pd.DataFrame]) -> None:
    """Replace the raw tables named in ``tables`` (keys of ``RAW_LAYOUTS``) in one transaction.

    On any error (a missing column, a value that does not cast) nothing changes.
    """
    unknown = sorted(set(tables) - set(RAW_LAYOUTS))
    if unknown:
        raise ValueError(f"unknown raw table(s) {unknown}: the demo writes {sorted(RAW_LAYOUTS)}")
    for name, frame in tables.items():
        missing = [c for c in RAW_LAYOUTS[name].column_names if c not in frame.columns]
        if missing:
            raise ValueError(f"table {name!r} lacks column(s) {missing}")
    warehouse.publish([Recreate(RAW_LAYOUTS[name], frame) for name, frame in tables.items()])
