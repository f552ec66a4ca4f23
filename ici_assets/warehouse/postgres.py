"""PostgreSQL as the warehouse, through psycopg 3: reads as frames, each publish one transaction, COPY for rows.

Concurrent runs publish without a Dagster pool. Each publish takes a transaction-level advisory
lock per table it writes (in one sorted order, so two publishes cannot deadlock) before any DDL
or DML: publishes to the same table serialise, so the DELETE + INSERT of a Replace never
interleaves with another (under READ COMMITTED each statement then sees the rows the previous
holder committed), and ``CREATE ... IF NOT EXISTS`` never races. Readers are never blocked.
The locks go with the transaction: a killed writer holds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

import ici_assets.warehouse.requests as rq
from ici_assets.warehouse import sql
from ici_assets.warehouse.base import (
    MissingColumnsError,
    MissingRelationError,
    SqlReads,
    WarehouseError,
    WarehouseLockedError,
    check_rows,
)
from ici_assets.warehouse.layout import ICI_VIEWS, TableLayout
from ici_assets.warehouse.pg_frames import copy_chunks, frame_from_rows
from ici_assets.warehouse.sql import PG_DATA_TYPES, POSTGRES, quote

if TYPE_CHECKING:
    import psycopg

    from ici_assets.warehouse.dbt_target import DbtTarget

#: dbt-postgres credential fields that are libpq connection parameters of the same name.
_LIBPQ = ("host", "port", "user", "sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout")


class WarehouseConnectionError(WarehouseError):
    """The server cannot be reached, or refuses the credentials."""


class WarehousePermissionError(WarehouseError):
    """The role lacks a privilege (on a schema or table) that the operation needs."""


def lock_key(relation: rq.Relation) -> int:
    """A stable signed 64-bit advisory-lock key for a table (the same in every process)."""
    digest = hashlib.blake2b(f"ici_assets:{relation}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresWarehouse(SqlReads):
    """A PostgreSQL database as the warehouse (see :class:`ici_assets.warehouse.Warehouse`)."""

    dialect = POSTGRES

    def __init__(
        self,
        conninfo: Mapping[str, Any],
        *,
        origin: str = "",
        fix: str = "",
        role: str | None = None,
        wait_seconds: float = 120.0,
    ):
        self._conninfo = {k: v for k, v in conninfo.items() if v not in (None, "")}
        self.origin, self.fix, self.role, self.wait_seconds = origin, fix, role, wait_seconds

    @classmethod
    def from_target(cls, target: DbtTarget, *, wait_seconds: float = 120.0) -> PostgresWarehouse:
        """The database of a rendered dbt-postgres target (its credentials, as dbt would connect)."""
        s = target.settings
        info = {k: s.get(k) for k in _LIBPQ} | {"dbname": s.get("database"), "password": target.secrets.get("password")}
        if s.get("keepalives_idle"):
            info["keepalives_idle"] = s["keepalives_idle"]
        fix = target.fix_hint("host", "port", "user", "password", "dbname")
        return cls(info, origin=target.describe(), fix=fix, role=s.get("role"), wait_seconds=wait_seconds)

    def __repr__(self) -> str:
        return f"PostgresWarehouse({self.location!r})"

    @property
    def location(self) -> str:
        c = self._conninfo
        return (
            f"postgresql://{c.get('user', '')}@{c.get('host', 'localhost')}:{c.get('port', 5432)}/{c.get('dbname', '')}"
        )

    def _where_from(self) -> str:
        return f"{self.location} ({self.origin})" if self.origin else self.location

    @contextlib.contextmanager
    def _connect(self, *, autocommit: bool) -> Iterator[psycopg.Connection]:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - the postgres extra is part of `make install`
            raise WarehouseError("PostgreSQL needs psycopg 3: pip install 'ici-assets[postgres]'.") from exc
        options = {"application_name": "ici_assets", "options": "-c TimeZone=UTC"}
        try:
            con = psycopg.connect(**{**options, "connect_timeout": 10, **self._conninfo}, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            raise WarehouseConnectionError(self._connection_message(exc)) from exc
        try:
            if self.role:
                con.execute(f"SET ROLE {quote(self.role)}")
            yield con
        finally:
            con.close()

    def _connection_message(self, exc: Exception) -> str:
        detail = " ".join(str(exc).split())
        if "password" in detail or "authentication" in detail:
            what = "the server refused the user or password"
        elif "database" in detail and "does not exist" in detail:
            what = "the database does not exist"
        else:
            what = "no server answered there"
        return (
            f"Could not connect to PostgreSQL warehouse {self._where_from()}: {what} ({detail}). "
            f"Fix the connection settings: {self.fix or 'host, port, user, password, dbname'}. Nothing was read or "
            "written."
        )

    def _denied(self, exc: Exception, doing: str) -> WarehousePermissionError:
        user = self._conninfo.get("user", "the role")
        return WarehousePermissionError(
            f"PostgreSQL warehouse {self._where_from()}: role '{user}' may not {doing} "
            f"({' '.join(str(exc).split())}). Nothing was written. Grant it, e.g. `GRANT USAGE, CREATE ON SCHEMA "
            f"<schema> TO {user}` (and `GRANT CREATE ON DATABASE` to create a schema), or point the dbt target "
            f"at a role that may ({self.fix or 'user, password'})."
        )

    # -- reads --------------------------------------------------------------------------------------

    def _columns(self, con: psycopg.Connection, relation: rq.Relation) -> list[str]:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            [relation.schema, relation.name],
        ).fetchall()
        return [r[0] for r in rows]

    def _query(self, relation: rq.Relation, columns: Sequence[str], text: str, params: list) -> pd.DataFrame:
        import psycopg.errors as pe

        with self._connect(autocommit=True) as con:
            try:
                with con.cursor(binary=True) as cur:
                    cur.execute(text, params)
                    names = [d.name for d in cur.description or []]
                    oids = [d.type_code for d in cur.description or []]
                    return frame_from_rows(cur.fetchall(), names, oids)
            except (pe.UndefinedTable, pe.InvalidSchemaName) as exc:
                raise MissingRelationError(relation, self._where_from()) from exc
            except pe.UndefinedColumn as exc:
                present = self._columns(con, relation)
                missing = [c for c in columns if c not in present]
                raise MissingColumnsError(relation, missing or list(columns), str(exc).splitlines()[0]) from exc
            except pe.InsufficientPrivilege as exc:
                raise self._denied(exc, f"read {relation}") from exc

    def exists(self, relation: rq.Relation) -> bool:
        with self._connect(autocommit=True) as con:
            return bool(self._columns(con, relation))

    # -- publish ------------------------------------------------------------------------------------

    def publish(self, items: Sequence[rq.Publish]) -> None:
        import psycopg.errors as pe

        items = check_rows(items)
        tables = sorted({item.table.relation for item in items}, key=str)
        with self._connect(autocommit=False) as con:
            try:
                with con.transaction():
                    con.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(self.wait_seconds * 1000)}ms"])
                    for relation in tables:  # one order for every publisher: no deadlock
                        con.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(relation)])
                    for schema in sorted({r.schema for r in tables}):
                        self._ensure_schema(con, schema)
                    for i, item in enumerate(items):
                        self._apply(con, item, f"_ici_publish_{i}")
                    for view in ICI_VIEWS:
                        if view.source.relation in tables:
                            con.execute(sql.create_view(view))
            except pe.LockNotAvailable as exc:
                raise WarehouseLockedError(
                    f"PostgreSQL warehouse {self._where_from()}: another publish held {', '.join(map(str, tables))} "
                    f"for more than {self.wait_seconds:.0f} s; nothing was written. Re-run when it is done."
                ) from exc
            except pe.InsufficientPrivilege as exc:
                raise self._denied(exc, f"write {', '.join(map(str, tables))}") from exc
            except pe.UndefinedColumn as exc:
                raise WarehouseError(
                    f"PostgreSQL warehouse {self._where_from()}: a table has other columns than this version "
                    f"writes ({str(exc).splitlines()[0]}); nothing was written. Drop or migrate the table."
                ) from exc

    @staticmethod
    def _ensure_schema(con: psycopg.Connection, schema: str) -> None:
        """Create a missing schema once, whoever else creates it at the same time."""
        if con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone():
            return
        con.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(rq.Relation(schema, "_schema"))])
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")

    def _apply(self, con: psycopg.Connection, item: rq.Publish, staging: str) -> None:
        layout = item.table
        target = sql.relation(layout.relation)
        if isinstance(item, rq.Recreate):
            self._recreate(con, layout)
        else:
            con.execute(sql.create_table(POSTGRES, layout))
            for statement in sql.add_columns(POSTGRES, layout, self._columns(con, layout.relation)):
                con.execute(statement)  # a table an older release created: its rows stay, the new columns null
        if isinstance(item, rq.Replace):
            con.execute(f"CREATE TEMP TABLE {quote(staging)} (LIKE {target}) ON COMMIT DROP")
            self._copy(con, quote(staging), layout, item.rows)
            con.execute(sql.delete_keys(layout, quote(staging), item.key, POSTGRES))
            cols = ", ".join(quote(c) for c in layout.column_names)
            con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {quote(staging)}")
        else:
            self._copy(con, target, layout, item.rows)

    def _recreate(self, con: psycopg.Connection, layout: TableLayout) -> None:
        """Empty the table when it already has the layout (views built on it, e.g. dbt's, stay valid), else
        drop and create it; a table of another shape with views on it is an error naming them."""
        import psycopg.errors as pe

        rel = layout.relation
        shape = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [rel.schema, rel.name],
        ).fetchall()
        expected = [(c.name, PG_DATA_TYPES[c.type], "YES" if c.nullable else "NO") for c in layout.columns]
        if shape and [tuple(r) for r in shape] == expected:
            con.execute(f"TRUNCATE {sql.relation(rel)}")
            return
        try:
            with con.transaction():  # a savepoint: the error below must not abort the publish's transaction
                con.execute(f"DROP TABLE IF EXISTS {sql.relation(rel)}")
        except pe.DependentObjectsStillExist as exc:
            raise WarehouseError(
                f"PostgreSQL warehouse {self._where_from()}: table {rel} must change its columns, but views depend "
                f"on it ({' '.join(str(exc).split())}). Drop those views (dbt rebuilds its models), then re-run."
            ) from exc
        con.execute(sql.create_table(POSTGRES, layout, if_not_exists=False))

    @staticmethod
    def _copy(con: psycopg.Connection, target: str, layout: TableLayout, rows: pd.DataFrame) -> None:
        cols = ", ".join(quote(c) for c in layout.column_names)
        with con.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN") as copy:
            for chunk in copy_chunks(rows, layout):
                copy.write(chunk)
