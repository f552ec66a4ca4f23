"""``ici.sensitivity`` on PostgreSQL and DuckDB alike: the rows of a model's spend edges (a null robustness value
with its reason for a nonlinear child, integers, booleans) and the empty batch (the table exists all the same)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.publish.rows import ResultKey
from ici_assets.publish.sensitivity import sensitivity_items, sensitivity_rows
from ici_assets.publish.versions import SliceFacts
from ici_assets.warehouse import SENSITIVITY, SENSITIVITY_HISTORY, DuckDBWarehouse, Read
from tests.assets.test_transforms_asset import spec_with

pytestmark = pytest.mark.postgres


def table() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame(
        {
            "node": ["tv_spend", "tv_spend", "social_spend"],
            "child": ["visits", "revenue", "visits"],
            "estimate": [0.41, 0.12, nan],
            "se": [0.01, 0.03, nan],
            "t": [41.0, 4.0, nan],
            "dof": [152, 151, nan],
            "partial_r2": [0.917, 0.0957, nan],
            "robustness_value": [0.93, 0.27, nan],
            "robustness_value_q": [0.79, 0.15, nan],
            "robustness_value_interval": [0.92, 0.13, nan],
            "robustness_value_width": [0.27, 0.27, nan],
            "mechanism": ["linear", "linear", "spline"],
            "method": ["linear", "linear", None],
            "available": [True, True, False],
            "reason": [None, None, "not available: social_spend explains nothing of visits beyond its other parents"],
            "sentence": ["a hidden confounder ...", "a hidden confounder ...", None],
        }
    )


def test_sensitivity_rows_read_back_the_same_from_postgres_and_duckdb(pg_server, tmp_path) -> None:
    spec = spec_with()
    facts = SliceFacts(156, "d1", "2022-01-03", "2024-12-23", "week")
    empty = sensitivity_rows(spec, None, facts, ResultKey("ici/other/shares", "c0", "r0"))
    rows = sensitivity_rows(spec, table(), facts, ResultKey("ici/weekly_nodes/shares", "c1", "r1"))
    assert len(empty) == 0 and list(empty.columns) == SENSITIVITY.column_names
    pg, duck = pg_server.warehouse(pg_server.fresh_database("wh_sensitivity")), DuckDBWarehouse(tmp_path / "w.duckdb")
    for warehouse in (pg, duck):
        warehouse.publish(sensitivity_items(empty))  # a model without spend edges: the tables exist, empty
        assert warehouse.exists(SENSITIVITY.relation) and warehouse.exists(SENSITIVITY_HISTORY.relation)
        warehouse.publish(sensitivity_items(rows))
        warehouse.publish(sensitivity_items(rows))  # replaced, not doubled; the history keeps both
    columns = tuple(c for c in SENSITIVITY.column_names if c != "materialized_at")
    a, b = (w.read(Read(SENSITIVITY.relation, columns, order_by=("node", "child"))) for w in (pg, duck))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 3 and a["robustness_value"].isna().sum() == 1 and a["dof"].tolist()[1:] == [151, 152]
    social = a[a["node"] == "social_spend"].iloc[0]
    assert not social["available"] and social["reason"].startswith("not available") and pd.isna(social["sentence"])
    assert a.loc[a["child"] == "revenue", "robustness_value_half"].tolist() == [0.15]
    for w in (pg, duck):
        assert len(w.read(Read(SENSITIVITY_HISTORY.relation, ("node",)))) == 6
