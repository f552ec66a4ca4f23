"""PostgresWarehouse on a real server: the same frames as DuckDB, values bound, concurrent publishes
serialised per table, and bad input (absent table or column, no privilege, wrong credentials) named."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pandas as pd
import pytest

from ici_assets.assets.resources import WarehouseResource
from ici_assets.publish.rows import shares_items
from ici_assets.warehouse import (
    SHARES,
    SHARES_HISTORY,
    DuckDBWarehouse,
    Equals,
    MissingColumnsError,
    MissingRelationError,
    OneOf,
    Read,
    Recreate,
    Relation,
    SumBy,
    WarehouseError,
    table,
)
from ici_assets.warehouse.postgres import WarehouseConnectionError, WarehousePermissionError
from tests.conftest import copy_dbt_project
from tests.postgres_fixtures import environment
from tests.warehouse.test_atomic_write import contributions, shares_rows
from tests.warehouse.test_sql_safety import HOSTILE, rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(pg_server, request) -> str:
    return pg_server.fresh_database("wh_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower())


def test_publishes_read_back_as_duckdb_frames(pg_server, db, tmp_path):
    pg, duck = pg_server.warehouse(db), DuckDBWarehouse(tmp_path / "w.duckdb")
    for warehouse in (pg, duck):
        warehouse.publish(shares_items(shares_rows("first", 100 / 6), contributions("first", 30)))
        warehouse.publish(shares_items(shares_rows("second", 20.0), contributions("second", 3)))
        warehouse.publish(shares_items(rows(HOSTILE, model=HOSTILE)))  # values are data, never SQL
    columns = tuple(SHARES.column_names)
    for request in (
        Read(SHARES.relation, columns, order_by=("asset_key", "node")),
        Read(SHARES_HISTORY.relation, columns, (Equals("partition_key", None),), order_by=("run_id", "node")),
        Read(SHARES.relation, ("node", "share"), (OneOf("asset_key", (HOSTILE, "'; --")),), order_by=("node",)),
    ):
        a, b = pg.read(request), duck.read(request)
        assert len(a) > 0
        a, b = (f.drop(columns=[c for c in ("materialized_at",) if c in f]) for f in (a, b))
        pd.testing.assert_frame_equal(a, b)  # same values and the same dtypes
    by = SumBy(SHARES.relation, "asset_key", "share", (Equals("model", HOSTILE),))
    pd.testing.assert_frame_equal(pg.sum_by(by), duck.sum_by(by))
    assert pg.distinct(SHARES.relation, "asset_key") == duck.distinct(SHARES.relation, "asset_key")
    assert pg.exists(SHARES.relation) and not pg.exists(Relation("ici", "nope"))


def test_recreate_keeps_views_built_on_the_table_and_refuses_a_new_shape_under_them(pg_server, db):
    layout = table("raw", "t", "id integer, name text")
    pg = pg_server.warehouse(db)
    pg.publish([Recreate(layout, pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}))])
    with pg_server.admin(db) as con:
        con.execute("CREATE VIEW public.v AS SELECT id FROM raw.t")  # as dbt's staging views are
    pg.publish([Recreate(layout, pd.DataFrame({"id": [3], "name": ["c\t\\N"]}))])
    with pg_server.admin(db) as con:
        assert con.execute("SELECT id FROM public.v").fetchall() == [(3,)]
        assert con.execute("SELECT name FROM raw.t").fetchall() == [("c\t\\N",)]  # escaped, not NULL
    wider = table("raw", "t", "id integer, name text, extra float")
    with pytest.raises(WarehouseError, match=r"table raw\.t must change its columns, but views depend on it"):
        pg.publish([Recreate(wider, pd.DataFrame({"id": [4], "name": ["d"], "extra": [1.0]}))])
    with pg_server.admin(db) as con:  # nothing changed
        assert con.execute("SELECT id, name FROM raw.t").fetchall() == [(3, "c\t\\N")]


def test_missing_table_or_column_named(pg_server, db):
    pg = pg_server.warehouse(db)
    with pytest.raises(MissingRelationError, match=r"Table nowhere\.t does not exist in warehouse postgresql://ici@"):
        pg.read(Read(Relation("nowhere", "t"), ("a",)))
    pg.publish(shares_items(shares_rows("first", 100 / 6)))
    with pytest.raises(MissingColumnsError, match=r"lacks column\(s\) \['nope'\]") as info:
        pg.read(Read(SHARES.relation, ("node", "nope")))
    assert info.value.missing == ["nope"]


def test_no_privilege_on_the_schema_names_role_and_grant_and_writes_nothing(pg_server, db):
    from psycopg import sql

    owner = pg_server.warehouse(db)
    owner.publish(shares_items(shares_rows("first", 100 / 6)))
    with pg_server.admin(db) as con:
        con.execute("DROP ROLE IF EXISTS ici_intruder")
        con.execute(sql.SQL("CREATE ROLE ici_intruder LOGIN PASSWORD {}").format("x"))
    intruder = pg_server.warehouse(db, user="ici_intruder", password="x")
    with pytest.raises(WarehousePermissionError, match=r"role 'ici_intruder' may not write ici\.ici_shares.*GRANT"):
        intruder.publish(shares_items(shares_rows("second", 20.0)))
    with pytest.raises(WarehousePermissionError, match=r"role 'ici_intruder' may not read ici\.ici_shares"):
        intruder.read(Read(SHARES.relation, ("node",)))
    new_schema = [Recreate(table("new", "t", "a text"), pd.DataFrame({"a": ["1"]}))]
    with pytest.raises(WarehousePermissionError, match=r"may not write new\.t \(permission denied for database"):
        intruder.publish(new_schema)  # may not create a schema either
    assert set(owner.read(Read(SHARES.relation, ("run_id",)))["run_id"]) == {"first"}


def test_wrong_credentials_name_the_dbt_target_and_the_variables_to_fix(pg_server, db, tmp_path, monkeypatch):
    project = copy_dbt_project(tmp_path / "proj")
    env = {**pg_server.env(db), "PGPASSWORD": "not-the-password"}
    with environment(env):
        warehouse = WarehouseResource.for_dbt_target(project, target="postgres").get()
        with pytest.raises(WarehouseConnectionError) as info:
            warehouse.read(Read(SHARES.relation, ("node",)))
    message = str(info.value)
    assert "dbt target 'postgres' of profile 'ici_marketing'" in message and str(project / "profiles.yml") in message
    assert "refused the user or password" in message and "password ($PGPASSWORD)" in message
    assert "not-the-password" not in message and "not-the-password" not in repr(warehouse)
    from ici_assets.dev.pg_server import free_port

    with environment({**pg_server.env(db), "PGPORT": str(free_port())}):
        no_server = r"no server answered there.*host \(\$PGHOST\), port \(\$PGPORT\)"
        with pytest.raises(WarehouseConnectionError, match=no_server):
            WarehouseResource.for_dbt_target(project, target="postgres").get().exists(SHARES.relation)


def test_concurrent_publishes_of_the_same_keys_lose_and_double_nothing(pg_server, db):
    """Writers replace the same (asset, partition) keys at once: each key ends with one writer's 6 rows, and
    the history holds every publish exactly once. (Without the per-table lock, DELETE + INSERT under READ
    COMMITTED lets two writers both delete, then both insert: doubled current rows.)"""
    n_writers, rounds, keys = 6, 8, ["p1", "p2", "p3"]
    start = threading.Barrier(n_writers)
    errors: list[BaseException] = []

    def frame(run_id: str) -> pd.DataFrame:
        parts = []
        for key in keys:
            part = shares_rows(run_id, 100 / 6).assign(partition_key=key, partition_kind="segment")
            parts.append(part.assign(materialized_at=datetime.now(UTC)))
        return pd.concat(parts, ignore_index=True)

    def writer(i: int) -> None:
        warehouse = pg_server.warehouse(db)
        try:
            start.wait()
            for r in range(rounds):
                warehouse.publish(shares_items(frame(f"w{i}r{r}")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg_server.admin(db) as con:
        current = con.execute(
            "SELECT partition_key, count(*), count(DISTINCT node), count(DISTINCT run_id) FROM ici.ici_shares "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        history = con.execute("SELECT count(*), count(DISTINCT run_id) FROM ici.ici_shares_history").fetchone()
    assert current == [(k, 6, 6, 1) for k in keys]
    assert history == (n_writers * rounds * len(keys) * 6, n_writers * rounds)


def test_a_table_of_an_older_release_gains_the_new_columns_and_keeps_its_rows(pg_server, db, tmp_path):
    """A release that adds columns to a published table (say ``ici.budget_allocation``'s ``binding``) publishes
    into the table an older release created: the missing columns are added, the old rows stay with nulls there."""
    from ici_assets.warehouse import Append, TableLayout

    old = TableLayout(SHARES_HISTORY.relation, SHARES_HISTORY.columns[:-2])
    new_columns = SHARES_HISTORY.column_names[-2:]
    for warehouse in (pg_server.warehouse(db), DuckDBWarehouse(tmp_path / "w.duckdb")):
        warehouse.publish([Append(old, shares_rows("old", 10.0)[list(old.column_names)])])
        warehouse.publish(shares_items(shares_rows("new", 20.0).assign(calibrated=False)))
        got = warehouse.read(Read(SHARES_HISTORY.relation, ("run_id", *new_columns), order_by=("run_id", "node")))
        assert got["run_id"].tolist() == ["new"] * 6 + ["old"] * 6
        assert got[new_columns].iloc[:6].notna().all().all() and got[new_columns].iloc[6:].isna().all().all()
