"""Names from YAML or configuration cannot run extra SQL: identifiers are validated, values bound."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from ici_assets.publish.rows import shares_items
from ici_assets.spec.parse import parse_model_spec
from ici_assets.warehouse import (
    SHARES,
    VS_LAST_CLICK,
    DuckDBWarehouse,
    Equals,
    OneOf,
    Read,
    Relation,
    Replace,
    SumBy,
    TimeRange,
    table,
)

HOSTILE = 'x"; DROP TABLE ici.ici_shares; --'


def rows(asset_key: str, model: str = "m") -> pd.DataFrame:
    frame = pd.DataFrame({c: [None, None] for c in SHARES.column_names})
    frame["asset_key"], frame["model"], frame["node"] = asset_key, model, ["a", "b"]
    frame["ici"], frame["share"] = [1.0, 1.0], [50.0, 50.0]
    frame["code_version"], frame["data_version"], frame["target"] = "c", "d", "b"
    frame["materialized_at"] = datetime.now(UTC)
    return frame


def test_hostile_values_are_data_not_sql(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.publish(shares_items(rows("safe")))
    warehouse.publish(shares_items(rows(HOSTILE, model=HOSTILE)))
    stored = warehouse.read(Read(SHARES.relation, ("asset_key", "model")))
    assert set(stored["asset_key"]) == {"safe", HOSTILE}  # the table survived and holds the string verbatim
    assert set(stored["model"]) == {"m", HOSTILE}
    # ... and a hostile value in every kind of filter is compared, not executed
    for where in [(Equals("asset_key", HOSTILE),), (OneOf("asset_key", (HOSTILE, "'; --")),)]:
        assert warehouse.read(Read(SHARES.relation, ("node",), where))["node"].tolist() == ["a", "b"]
    assert warehouse.sum_by(SumBy(SHARES.relation, "asset_key", "share", (Equals("model", HOSTILE),)))[
        "value"
    ].tolist() == [100.0]
    comparison = pd.DataFrame({c: [None] for c in VS_LAST_CLICK.column_names}).assign(
        asset_key=HOSTILE, model="m", target="t", node="n", ici_share=1.0, last_click_share=2.0,
        materialized_at=datetime.now(UTC),
    )  # fmt: skip
    warehouse.publish([Replace(VS_LAST_CLICK, comparison, ("asset_key",))])
    assert len(warehouse.read(Read(VS_LAST_CLICK.relation, ("node",)))) == 1
    assert len(warehouse.read(Read(SHARES.relation, ("node",)))) == 4


@pytest.mark.parametrize(
    "build",
    [
        lambda: Relation("ici", HOSTILE),
        lambda: Relation(HOSTILE, "t"),
        lambda: Relation("a.b", "t"),
        lambda: Read(SHARES.relation, (HOSTILE,)),
        lambda: Read(SHARES.relation, ("node",), order_by=(HOSTILE,)),
        lambda: Equals(HOSTILE, "1"),
        lambda: OneOf(HOSTILE, ("1",)),
        lambda: TimeRange(HOSTILE, pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-02-01").date()),
        lambda: SumBy(SHARES.relation, HOSTILE, "share"),
        lambda: table("ici", "t", HOSTILE.replace(" ", "") + " text"),
    ],
)
def test_hostile_table_or_column_names_are_refused(tmp_path, build):
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        build()
    assert not (tmp_path / "w.duckdb").exists()


def test_replace_keys_must_be_declared_columns():
    with pytest.raises(ValueError, match="is not a column of ici.ici_shares"):
        Replace(SHARES, rows("k"), (HOSTILE,))


@pytest.mark.parametrize("where", ["unit", "segment", "last_click_model", "last_click_column"])
def test_hostile_names_in_dbt_meta_are_refused_at_load(where):
    meta = {"target": "y", "unit": ["date"]}
    if where == "unit":
        meta["unit"] = [HOSTILE]
    elif where == "segment":
        meta["partitions"] = {"segment": HOSTILE}
    elif where == "last_click_model":
        meta["last_click"] = {"model": HOSTILE, "channels": {"c": "a"}}
    else:
        meta["last_click"] = {"model": "lc", "value_column": HOSTILE, "channels": {"c": "a"}}
    props = {
        "name": "nodes",
        "unique_id": "model.p.nodes",
        "resource_type": "model",
        "config": {"meta": {"ici": meta}},
        "columns": {"date": {}, "a": {"meta": {"ici": {"parents": []}}}, "y": {"meta": {"ici": {"parents": ["a"]}}}},
    }
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        parse_model_spec(props)
