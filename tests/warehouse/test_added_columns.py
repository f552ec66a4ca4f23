"""A column added to an ``ici`` table after its first release (``calibrated``): a warehouse built by an older
version takes the new rows (the column is added on publish), and writers that do not know it still publish."""

import duckdb

from ici_assets.publish.rows import shares_items
from ici_assets.warehouse import SHARES, DuckDBWarehouse, Read
from ici_assets.warehouse.layout import ADDED_COLUMNS, TableLayout
from ici_assets.warehouse.requests import Append
from tests.warehouse.test_atomic_write import shares_rows


def test_an_older_table_gains_the_column_and_old_writers_still_publish(tmp_path):
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    old_layout = TableLayout(SHARES.relation, tuple(c for c in SHARES.columns if c.name not in ADDED_COLUMNS))
    old = shares_rows("old", 10.0)
    warehouse.publish([Append(old_layout, old)])  # the table as an older version created it
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        columns = [r[0] for r in con.execute("DESCRIBE ici.ici_shares").fetchall()]
    assert "calibrated" not in columns

    warehouse.publish(shares_items(shares_rows("new", 20.0).assign(calibrated=True)))  # replaces asset ici/m/shares
    current = warehouse.read(Read(SHARES.relation, ("run_id", "share", "calibrated")))
    assert set(current["run_id"]) == {"new"} and current["calibrated"].tolist() == [True] * 6

    assert "calibrated" not in shares_rows("x", 5.0).columns
    warehouse.publish(shares_items(shares_rows("x", 5.0)))  # rows of a writer that predates the column: NULL
    current = warehouse.read(Read(SHARES.relation, ("run_id", "calibrated")))
    assert set(current["run_id"]) == {"x"} and current["calibrated"].isna().all()
