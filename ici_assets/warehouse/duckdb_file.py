"""The embedded DuckDB warehouse: short connections that wait for a busy file, one transaction per publish.

DuckDB allows one writing process per file, and dbt runs as a subprocess: every method opens a
connection late and closes it early, read-only where it only reads. A file still busy after
``wait_seconds`` raises :class:`WarehouseLockedError` naming the file.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pandas as pd

import ici_assets.warehouse.requests as rq
from ici_assets.warehouse import sql
from ici_assets.warehouse.base import (
    MissingColumnsError,
    MissingRelationError,
    SqlReads,
    WarehouseLockedError,
    check_rows,
)
from ici_assets.warehouse.layout import ICI_VIEWS
from ici_assets.warehouse.sql import DUCKDB, quote

_TYPES = DUCKDB.types


@contextlib.contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, wait_seconds: float = 60.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the file, waiting up to ``wait_seconds`` while another process holds its lock."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(
            f"Warehouse file {path} does not exist: materialise the raw tables and dbt models first "
            "(or set ICI_WAREHOUSE to the right file)."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise WarehouseLockedError(
                    f"Could not open warehouse {path}: another process holds it "
                    f"({str(exc).splitlines()[0]}). Wait for that process (a dbt run, a notebook, "
                    "a DuckDB CLI) to finish or close it, then re-run; nothing was written."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any error (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


class DuckDBWarehouse(SqlReads):
    """An embedded DuckDB file as the warehouse (see :class:`ici_assets.warehouse.Warehouse`)."""

    dialect = DUCKDB

    def __init__(self, path: str | Path, *, wait_seconds: float = 60.0):
        self.path = Path(path)
        self.wait_seconds = wait_seconds

    @property
    def location(self) -> str:
        return str(self.path)

    def _connect(self, *, read_only: bool) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return connect(self.path, read_only=read_only, wait_seconds=self.wait_seconds)

    def _query(self, relation: rq.Relation, columns: Sequence[str], text: str, params: list) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            try:
                return con.execute(text, params).df()
            except (duckdb.CatalogException, duckdb.BinderException) as exc:
                present = self._columns(con, relation)
                if not present:
                    raise MissingRelationError(relation, self.location) from exc
                missing = [c for c in columns if c not in present]
                raise MissingColumnsError(relation, missing or list(columns), str(exc).splitlines()[0]) from exc

    @staticmethod
    def _columns(con: duckdb.DuckDBPyConnection, relation: rq.Relation) -> list[str]:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [relation.schema, relation.name],
        ).fetchall()
        return [r[0] for r in rows]

    def exists(self, relation: rq.Relation) -> bool:
        if not self.path.exists():
            return False
        with self._connect(read_only=True) as con:
            return bool(self._columns(con, relation))

    def publish(self, items: Sequence[rq.Publish]) -> None:
        items = check_rows(items)
        tables = {item.table.relation for item in items}
        with self._connect(read_only=False) as con:
            registered = []
            try:
                with _transaction(con):
                    for schema in sorted({r.schema for r in tables}):
                        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
                    for i, item in enumerate(items):
                        view = f"_ici_publish_{i}"
                        con.register(view, item.rows)
                        registered.append(view)
                        self._apply(con, item, view)
                    for v in ICI_VIEWS:
                        if v.source.relation in tables:
                            con.execute(sql.create_view(v))
            finally:
                for view in registered:
                    con.unregister(view)

    @staticmethod
    def _apply(con: duckdb.DuckDBPyConnection, item: rq.Publish, view: str) -> None:
        layout = item.table
        target = sql.relation(layout.relation)
        if isinstance(item, rq.Recreate):
            con.execute(f"DROP TABLE IF EXISTS {target}")
            con.execute(sql.create_table(DUCKDB, layout, if_not_exists=False))
        else:
            con.execute(sql.create_table(DUCKDB, layout))
            for statement in sql.add_columns(DUCKDB, layout, DuckDBWarehouse._columns(con, layout.relation)):
                con.execute(statement)  # a table an older release created: its rows stay, the new columns null
        if isinstance(item, rq.Replace):
            con.execute(sql.delete_keys(layout, quote(view), item.key, DUCKDB))
        cols = ", ".join(quote(c) for c in layout.column_names)
        casts = ", ".join(f"CAST({quote(c.name)} AS {_TYPES[c.type]})" for c in layout.columns)
        con.execute(f"INSERT INTO {target} ({cols}) SELECT {casts} FROM {quote(view)}")
