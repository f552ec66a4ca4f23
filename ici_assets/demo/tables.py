"""The demo's raw tables in the warehouse: their layouts, and one transaction that replaces them all."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ici_assets.warehouse import ColumnType, Recreate, TableLayout, Warehouse, table

RAW_SCHEMA = "raw"
TEXT, FLOAT, INTEGER, DATE = ColumnType.TEXT, ColumnType.FLOAT, ColumnType.INTEGER, ColumnType.DATE
TIMESTAMP, MONEY = ColumnType.TIMESTAMP, ColumnType.MONEY

RAW_LAYOUTS: dict[str, TableLayout] = {
    "ad_spend": table(
        RAW_SCHEMA,
        "ad_spend",
        ("date", DATE),
        ("region", TEXT),
        ("channel", TEXT),
        ("campaign", TEXT),
        ("spend", MONEY),
        ("impressions", INTEGER),
    ),
    "web_sessions": table(
        RAW_SCHEMA,
        "web_sessions",
        ("date", DATE),
        ("region", TEXT),
        ("source", TEXT),
        ("medium", TEXT),
        ("sessions", INTEGER),
    ),
    "orders": table(
        RAW_SCHEMA,
        "orders",
        ("order_id", INTEGER),
        ("ordered_at", TIMESTAMP),
        ("region", TEXT),
        ("revenue", MONEY),
        ("last_click_channel", TEXT),
    ),
    "demand_index": table(RAW_SCHEMA, "demand_index", ("date", DATE), ("region", TEXT), ("search_interest", FLOAT)),
    "ground_truth_ici": table(RAW_SCHEMA, "ground_truth_ici", ("node", TEXT), ("ici", FLOAT), ("share", FLOAT)),
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
