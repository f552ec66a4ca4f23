"""Table layouts, declared once and dialect-neutral: every implementation renders them in its own SQL.

A layout names a table (schema + name), its columns and each column's logical type. The ``ici``
tables the plugin writes are declared here; the demo declares its raw tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ici_assets.warehouse.requests import Relation, check_identifier


class ColumnType(Enum):
    """Logical column types; each warehouse maps them to its own (e.g. TEXT -> VARCHAR in DuckDB)."""

    TEXT = "text"
    FLOAT = "float"  # 64-bit IEEE
    INTEGER = "integer"  # 64-bit
    DATE = "date"
    TIMESTAMP = "timestamp"  # without time zone
    TIMESTAMPTZ = "timestamptz"
    MONEY = "money"  # exact decimal with 2 places, 12 digits


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True

    def __post_init__(self) -> None:
        check_identifier(self.name, "column")


@dataclass(frozen=True)
class TableLayout:
    """A table: where it lives and its columns, in order."""

    relation: Relation
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class ViewLayout:
    """A view selecting renamed columns of one table, filtered on one column's constant value."""

    relation: Relation
    source: TableLayout
    columns: tuple[tuple[str, str], ...]  # (source column, name in the view)
    where_equals: tuple[str, str] | None = None  # (source column, constant text value)

    def __post_init__(self) -> None:
        for source, alias in self.columns:
            check_identifier(source, "view source column")
            check_identifier(alias, "view column")


def table(schema: str, name: str, *columns: tuple[str, ColumnType] | tuple[str, ColumnType, bool]) -> TableLayout:
    """Shorthand: ``table("ici", "t", ("a", TEXT, False), ("b", FLOAT))`` (third item: nullable)."""
    return TableLayout(Relation(schema, name), tuple(Column(*c) for c in columns))


TEXT, FLOAT, INTEGER, DATE = ColumnType.TEXT, ColumnType.FLOAT, ColumnType.INTEGER, ColumnType.DATE
TIMESTAMP, TIMESTAMPTZ, MONEY = ColumnType.TIMESTAMP, ColumnType.TIMESTAMPTZ, ColumnType.MONEY
REQUIRED = False  # third item of a column tuple: NOT NULL

ICI_SCHEMA = "ici"
_SHARES_COLUMNS = (
    ("asset_key", TEXT, REQUIRED),
    ("model", TEXT, REQUIRED),
    ("partition_key", TEXT),
    ("partition_kind", TEXT),
    ("node", TEXT, REQUIRED),
    ("ici", FLOAT, REQUIRED),
    ("share", FLOAT, REQUIRED),
    ("share_low", FLOAT),
    ("share_high", FLOAT),
    ("code_version", TEXT, REQUIRED),
    ("data_version", TEXT, REQUIRED),
    ("materialized_at", TIMESTAMPTZ, REQUIRED),
    ("run_id", TEXT),
    ("target", TEXT, REQUIRED),
    ("mechanism", TEXT),
    ("r2", FLOAT),
    ("n_rows", INTEGER),
    ("period_start", DATE),
    ("period_end", DATE),
)
#: Current shares: one set of rows per (asset_key, partition_key), replaced on every publish.
SHARES = table(ICI_SCHEMA, "ici_shares", *_SHARES_COLUMNS)
#: Every set of shares ever published (append-only), same columns.
SHARES_HISTORY = table(ICI_SCHEMA, "ici_shares_history", *_SHARES_COLUMNS)
#: Each node's intrinsic contribution to the target per period, for the whole-period asset.
CONTRIBUTIONS = table(
    ICI_SCHEMA,
    "ici_contributions",
    ("asset_key", TEXT, REQUIRED),
    ("model", TEXT, REQUIRED),
    ("period", DATE, REQUIRED),
    ("node", TEXT, REQUIRED),
    ("contribution", FLOAT, REQUIRED),
    ("code_version", TEXT, REQUIRED),
    ("data_version", TEXT, REQUIRED),
    ("run_id", TEXT),
)
#: ICI shares beside last-click shares of the same period.
VS_LAST_CLICK = table(
    ICI_SCHEMA,
    "ici_vs_last_click",
    ("asset_key", TEXT, REQUIRED),
    ("model", TEXT, REQUIRED),
    ("target", TEXT, REQUIRED),
    ("node", TEXT, REQUIRED),
    ("ici_share", FLOAT, REQUIRED),
    ("share_low", FLOAT),
    ("share_high", FLOAT),
    ("last_click_share", FLOAT, REQUIRED),
    ("period_start", DATE),
    ("period_end", DATE),
    ("run_id", TEXT),
    ("materialized_at", TIMESTAMPTZ, REQUIRED),
)
#: The monthly time series: one row per node per monthly partition.
SHARES_OVER_TIME = ViewLayout(
    Relation(ICI_SCHEMA, "ici_shares_over_time"),
    SHARES,
    tuple(
        (c, "month" if c == "partition_key" else c)
        for c in (
            "model",
            "asset_key",
            "partition_key",
            "period_start",
            "period_end",
            "node",
            "share",
            "share_low",
            "share_high",
            "data_version",
            "code_version",
            "materialized_at",
        )
    ),
    where_equals=("partition_kind", "month"),
)
ICI_TABLES = (SHARES, SHARES_HISTORY, CONTRIBUTIONS, VS_LAST_CLICK)
ICI_VIEWS = (SHARES_OVER_TIME,)
