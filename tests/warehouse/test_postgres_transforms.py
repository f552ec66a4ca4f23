"""``ici.transforms`` on PostgreSQL and DuckDB alike: the rows of a model with learned transforms (null bounds,
booleans, integers) and the empty batch a model without them publishes (the table exists all the same)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.publish.rows import ResultKey
from ici_assets.publish.transforms import LearnedTable, transform_items, transform_rows
from ici_assets.publish.versions import SliceFacts
from ici_assets.warehouse import TRANSFORMS, TRANSFORMS_HISTORY, DuckDBWarehouse, Read
from tests.assets.test_transforms_asset import TV, spec_with

pytestmark = pytest.mark.postgres


def learned() -> LearnedTable:
    table = pd.DataFrame(
        {
            "model": "weekly_nodes",
            "node": ["tv_spend"] * 3 + ["social_spend"] * 2,
            "transform": ["carryover", "saturation", "saturation", "carryover", "saturation"],
            "family": ["geometric", "hill", "hill", "none", "michaelis_menten"],
            "parameter": ["decay", "half_saturation", "slope", None, "half_saturation"],
            "value": [0.71, 41_000.0, 2.0, np.nan, 600_000.0],
            "low": [0.64, 35_000.0, 1.6, np.nan, 40_000.0],
            "high": [0.77, 48_000.0, 2.5, np.nan, np.inf],
            "identified": [True, True, True, False, False],
        }
    )
    return LearnedTable(table, {"social_spend": ["flat profile: half_saturation not identified"]}, {})


def test_transform_rows_read_back_the_same_from_postgres_and_duckdb(pg_server, tmp_path) -> None:
    spec = spec_with({"tv_spend": TV, "social_spend": {"saturation": {"kind": "auto"}}})
    facts = SliceFacts(156, "d1", "2022-01-03", "2024-12-23", "week")
    empty = transform_rows(spec_with(), None, facts, ResultKey("ici/other/shares", "c0", "r0"))
    rows = transform_rows(spec, learned(), facts, ResultKey("ici/weekly_nodes/shares", "c1", "r1"))
    assert len(empty) == 0 and list(empty.columns) == TRANSFORMS.column_names
    pg, duck = pg_server.warehouse(pg_server.fresh_database("wh_transforms")), DuckDBWarehouse(tmp_path / "w.duckdb")
    for warehouse in (pg, duck):
        warehouse.publish(transform_items(empty))  # a model without learned transforms: the tables exist, empty
        assert warehouse.exists(TRANSFORMS.relation) and warehouse.exists(TRANSFORMS_HISTORY.relation)
        warehouse.publish(transform_items(rows))
        warehouse.publish(transform_items(rows))  # replaced, not doubled; the history keeps both
    columns = tuple(c for c in TRANSFORMS.column_names if c != "materialized_at")
    order = ("node", "transform", "parameter")
    a, b = (w.read(Read(TRANSFORMS.relation, columns, order_by=order)) for w in (pg, duck))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 5 and a["high"].isna().sum() == 2  # 'none' has no parameter; the unbounded high is null
    social = a[a["node"] == "social_spend"]
    assert not social["identified"].any() and (social["note"] == "flat profile: half_saturation not identified").all()
    assert a.loc[a["parameter"] == "decay", "max_lag"].tolist() == [8] and a["unit"].tolist().count("EUR") == 2
    for w in (pg, duck):
        assert len(w.read(Read(TRANSFORMS_HISTORY.relation, ("node",)))) == 10
