"""Names from YAML or configuration cannot run extra SQL: identifiers are validated, values bound."""

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from ici_assets.spec import parse_model_spec
from ici_assets.warehouse import SHARES_COLUMNS, replace_rows, write_shares

HOSTILE = 'x"; DROP TABLE ici.ici_shares; --'


def rows(asset_key: str, model: str = "m") -> pd.DataFrame:
    frame = pd.DataFrame({c: [None, None] for c in SHARES_COLUMNS})
    frame["asset_key"], frame["model"], frame["node"] = asset_key, model, ["a", "b"]
    frame["ici"], frame["share"] = [1.0, 1.0], [50.0, 50.0]
    frame["code_version"], frame["data_version"], frame["target"] = "c", "d", "b"
    frame["materialized_at"] = datetime.now(UTC)
    return frame


def test_hostile_values_are_data_not_sql(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_shares(con, rows("safe"))
        write_shares(con, rows(HOSTILE, model=HOSTILE))
        stored = {r[0] for r in con.execute("SELECT DISTINCT asset_key FROM ici.ici_shares").fetchall()}
        assert stored == {"safe", HOSTILE}  # the table survived and holds the string verbatim
        replace_rows(con, "ici_vs_last_click", pd.DataFrame({"asset_key": [HOSTILE], "v": [1]}), "asset_key", HOSTILE)
        assert con.execute("SELECT count(*) FROM ici.ici_vs_last_click").fetchone()[0] == 1


@pytest.mark.parametrize("table, column", [(HOSTILE, "asset_key"), ("t", HOSTILE), ("a.b", "k")])
def test_hostile_table_or_column_names_are_refused(tmp_path, table, column):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(ValueError, match="not a plain SQL identifier"):
            replace_rows(con, table, pd.DataFrame({"k": [1]}), column, "1")
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0] == 0


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
