"""SQL text shared by the warehouses, rendered per dialect: quoted identifiers, filters with one bound
parameter per value, and the declared layouts as CREATE TABLE / CREATE VIEW.

Identifiers reaching here were checked by :mod:`.requests` and are double-quoted anyway; values
never enter the text (each is a placeholder, bound by the driver).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ici_assets.warehouse.requests as rq
from ici_assets.warehouse.layout import ADDED_COLUMNS, ColumnType, TableLayout, ViewLayout


@dataclass(frozen=True)
class Dialect:
    """What differs between warehouses in the SQL we write: the parameter placeholder and the type names."""

    name: str
    placeholder: str
    types: Mapping[ColumnType, str]


DUCKDB = Dialect(
    "duckdb",
    "?",
    {
        ColumnType.TEXT: "VARCHAR",
        ColumnType.FLOAT: "DOUBLE",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.TIMESTAMPTZ: "TIMESTAMP WITH TIME ZONE",
        ColumnType.MONEY: "DECIMAL(12,2)",
        ColumnType.BOOLEAN: "BOOLEAN",
    },
)
#: PostgreSQL's names for the same types (information_schema: character varying, double precision, ...).
POSTGRES = Dialect(
    "postgres",
    "%s",
    {
        ColumnType.TEXT: "VARCHAR",
        ColumnType.FLOAT: "DOUBLE PRECISION",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.TIMESTAMPTZ: "TIMESTAMP WITH TIME ZONE",
        ColumnType.MONEY: "NUMERIC(12,2)",
        ColumnType.BOOLEAN: "BOOLEAN",
    },
)
#: information_schema.columns.data_type of each type as PostgreSQL creates it.
PG_DATA_TYPES = {
    ColumnType.TEXT: "character varying",
    ColumnType.FLOAT: "double precision",
    ColumnType.INTEGER: "bigint",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp without time zone",
    ColumnType.TIMESTAMPTZ: "timestamp with time zone",
    ColumnType.MONEY: "numeric",
    ColumnType.BOOLEAN: "boolean",
}


def quote(name: str) -> str:
    """Double-quote an identifier (already checked by the request types), doubling any quote."""
    return '"' + str(name).replace('"', '""') + '"'


def relation(rel: rq.Relation) -> str:
    return f"{quote(rel.schema)}.{quote(rel.name)}"


def where(dialect: Dialect, filters: Sequence[rq.Filter]) -> tuple[str, list]:
    """``WHERE ...`` with one placeholder per value, and the values."""
    p = dialect.placeholder
    parts: list[str] = []
    params: list[object] = []
    for f in filters:
        if isinstance(f, rq.TimeRange):
            parts.append(f"{quote(f.column)} >= CAST({p} AS DATE) AND {quote(f.column)} < CAST({p} AS DATE)")
            params += [str(f.start), str(f.end)]
        elif isinstance(f, rq.OneOf):
            if not f.values:
                parts.append("FALSE")
            else:
                parts.append(f"CAST({quote(f.column)} AS VARCHAR) IN ({', '.join(p for _ in f.values)})")
                params += list(f.values)
        elif isinstance(f, rq.Equals):
            parts.append(f"{quote(f.column)} IS NOT DISTINCT FROM {p}")
            params.append(f.value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), params


def select(dialect: Dialect, request: rq.Read) -> tuple[str, list]:
    """The SELECT of a :class:`Read`, and its parameters."""
    filters, params = where(dialect, request.where)
    order = f" ORDER BY {', '.join(quote(c) for c in request.order_by)}" if request.order_by else ""
    cols = ", ".join(quote(c) for c in request.columns)
    return f"SELECT {cols} FROM {relation(request.relation)} {filters}{order}", params


def sum_by(dialect: Dialect, request: rq.SumBy) -> tuple[str, list]:
    """The GROUP BY of a :class:`SumBy` (columns ``by`` as text and ``value``), and its parameters."""
    filters, params = where(dialect, request.where)
    by, value = quote(request.by), quote(request.value)
    sql = (
        f"SELECT CAST({by} AS VARCHAR) AS {by}, SUM({value}) AS value "
        f"FROM {relation(request.relation)} {filters} GROUP BY 1 ORDER BY 1"
    )
    return sql, params


def count_rows(rel: rq.Relation) -> str:
    return f"SELECT count(*) AS n FROM {relation(rel)}"


def distinct(rel: rq.Relation, column: str) -> str:
    return f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) AS v FROM {relation(rel)} ORDER BY 1"


def create_table(dialect: Dialect, layout: TableLayout, *, if_not_exists: bool = True) -> str:
    cols = ", ".join(
        f"{quote(c.name)} {dialect.types[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in layout.columns
    )
    return f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{relation(layout.relation)} ({cols})"


def add_columns(dialect: Dialect, layout: TableLayout) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN IF NOT EXISTS`` for the layout's columns added after its first release (so a
    warehouse built by an older version takes the new rows)."""
    name = relation(layout.relation)
    return [
        f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {quote(c.name)} {dialect.types[c.type]}"
        for c in layout.columns
        if c.name in ADDED_COLUMNS and c.nullable
    ]


def create_view(view: ViewLayout) -> str:
    cols = ", ".join(f"{quote(src)} AS {quote(alias)}" for src, alias in view.columns)
    filters = ""
    if view.where_equals:
        column, value = view.where_equals
        filters = f" WHERE {quote(column)} = '{value.replace(chr(39), chr(39) * 2)}'"  # a constant from code
    source = relation(view.source.relation)
    return f"CREATE OR REPLACE VIEW {relation(view.relation)} AS SELECT {cols} FROM {source}{filters}"


def delete_keys(target: TableLayout, source: str, key: Sequence[str], dialect: Dialect) -> str:
    """Delete the rows of ``target`` whose ``key`` equals that of a row of table ``source`` (NULL matches NULL)."""
    types = {c.name: dialect.types[c.type] for c in target.columns}
    keys = ", ".join(f"CAST({quote(c)} AS {types[c]}) AS {quote(c)}" for c in key)
    name = relation(target.relation)
    match = " AND ".join(f"{name}.{quote(c)} IS NOT DISTINCT FROM k.{quote(c)}" for c in key)
    return f"DELETE FROM {name} USING (SELECT DISTINCT {keys} FROM {source}) AS k WHERE {match}"
