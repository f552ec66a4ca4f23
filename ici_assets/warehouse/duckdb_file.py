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
from ici_assets.warehouse.base import MissingColumnsError, MissingRelationError, WarehouseLockedError
from ici_assets.warehouse.layout import ICI_VIEWS, ColumnType, TableLayout, ViewLayout

_TYPES = {
    ColumnType.TEXT: "VARCHAR",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.TIMESTAMPTZ: "TIMESTAMP WITH TIME ZONE",
    ColumnType.MONEY: "DECIMAL(12,2)",
    ColumnType.BOOLEAN: "BOOLEAN",
}


def quote(name: str) -> str:
    """Double-quote an identifier (already checked by the request types), doubling any quote."""
    return '"' + str(name).replace('"', '""') + '"'


def _relation(relation: rq.Relation) -> str:
    return f"{quote(relation.schema)}.{quote(relation.name)}"


def _where(filters: Sequence[rq.Filter]) -> tuple[str, list]:
    """``WHERE ...`` with one placeholder per value, and the values."""
    parts: list[str] = []
    params: list[object] = []
    for f in filters:
        if isinstance(f, rq.TimeRange):
            parts.append(f"{quote(f.column)} >= CAST(? AS DATE) AND {quote(f.column)} < CAST(? AS DATE)")
            params += [str(f.start), str(f.end)]
        elif isinstance(f, rq.OneOf):
            if not f.values:
                parts.append("FALSE")
            else:
                parts.append(f"CAST({quote(f.column)} AS VARCHAR) IN ({', '.join('?' for _ in f.values)})")
                params += list(f.values)
        elif isinstance(f, rq.Equals):
            parts.append(f"{quote(f.column)} IS NOT DISTINCT FROM ?")
            params.append(f.value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), params


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


def _create_table(layout: TableLayout, *, if_not_exists: bool = True) -> str:
    cols = ", ".join(f"{quote(c.name)} {_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in layout.columns)
    return f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{_relation(layout.relation)} ({cols})"


def _create_view(view: ViewLayout) -> str:
    cols = ", ".join(f"{quote(src)} AS {quote(alias)}" for src, alias in view.columns)
    where = ""
    if view.where_equals:
        column, value = view.where_equals
        where = f" WHERE {quote(column)} = '{value.replace(chr(39), chr(39) * 2)}'"  # a constant from code
    source = _relation(view.source.relation)
    return f"CREATE OR REPLACE VIEW {_relation(view.relation)} AS SELECT {cols} FROM {source}{where}"


class DuckDBWarehouse:
    """An embedded DuckDB file as the warehouse (see :class:`ici_assets.warehouse.Warehouse`)."""

    def __init__(self, path: str | Path, *, wait_seconds: float = 60.0):
        self.path = Path(path)
        self.wait_seconds = wait_seconds

    @property
    def location(self) -> str:
        return str(self.path)

    def _connect(self, *, read_only: bool) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return connect(self.path, read_only=read_only, wait_seconds=self.wait_seconds)

    def _query(self, relation: rq.Relation, columns: Sequence[str], sql: str, params: list) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            try:
                return con.execute(sql, params).df()
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

    def read(self, request: rq.Read) -> pd.DataFrame:
        where, params = _where(request.where)
        order = f" ORDER BY {', '.join(quote(c) for c in request.order_by)}" if request.order_by else ""
        cols = ", ".join(quote(c) for c in request.columns)
        sql = f"SELECT {cols} FROM {_relation(request.relation)} {where}{order}"
        return self._query(request.relation, request.columns, sql, params)

    def sum_by(self, request: rq.SumBy) -> pd.DataFrame:
        where, params = _where(request.where)
        by, value = quote(request.by), quote(request.value)
        sql = (
            f"SELECT CAST({by} AS VARCHAR) AS {by}, SUM({value}) AS value "
            f"FROM {_relation(request.relation)} {where} GROUP BY 1 ORDER BY 1"
        )
        return self._query(request.relation, (request.by, request.value), sql, params)

    def distinct(self, relation: rq.Relation, column: str) -> list[str]:
        sql = f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) AS v FROM {_relation(relation)} ORDER BY 1"
        return [str(v) for v in self._query(relation, (column,), sql, [])["v"]]

    def exists(self, relation: rq.Relation) -> bool:
        if not self.path.exists():
            return False
        with self._connect(read_only=True) as con:
            return bool(self._columns(con, relation))

    def publish(self, items: Sequence[rq.Publish]) -> None:
        for item in items:
            missing = [c for c in item.table.column_names if c not in item.rows.columns]
            if missing:
                raise ValueError(f"Rows for {item.table.relation} lack column(s) {missing}: nothing written.")
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
                            con.execute(_create_view(v))
            finally:
                for view in registered:
                    con.unregister(view)

    @staticmethod
    def _apply(con: duckdb.DuckDBPyConnection, item: rq.Publish, view: str) -> None:
        layout = item.table
        target = _relation(layout.relation)
        if isinstance(item, rq.Recreate):
            con.execute(f"DROP TABLE IF EXISTS {target}")
            con.execute(_create_table(layout, if_not_exists=False))
        else:
            con.execute(_create_table(layout))
        if isinstance(item, rq.Replace):
            types = {c.name: _TYPES[c.type] for c in layout.columns}
            keys = ", ".join(f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" for c in item.key)
            match = " AND ".join(f"{target}.{quote(c)} IS NOT DISTINCT FROM k.{quote(c)}" for c in item.key)
            con.execute(f"DELETE FROM {target} USING (SELECT DISTINCT {keys} FROM {quote(view)}) AS k WHERE {match}")
        cols = ", ".join(quote(c) for c in layout.column_names)
        casts = ", ".join(f"CAST({quote(c.name)} AS {_TYPES[c.type]})" for c in layout.columns)
        con.execute(f"INSERT INTO {target} ({cols}) SELECT {casts} FROM {quote(view)}")
