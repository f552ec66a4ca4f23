"""Table layouts, declared once and dialect-neutral: every implementation renders them in its own SQL.

A layout names a table (schema + name), its columns and each column's logical type, written
``"name type [not null], ..."``. The ``ici`` tables the plugin writes are declared here; the demo
declares its raw tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

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


class Column(NamedTuple):
    name: str
    type: ColumnType
    nullable: bool = True


@dataclass(frozen=True)
class TableLayout:
    """A table: where it lives and its columns, in order."""

    relation: Relation
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        for c in self.columns:
            check_identifier(c.name, f"column of {self.relation}")

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


def table(schema: str, name: str, columns: str) -> TableLayout:
    """A layout from ``"name type [not null], ..."`` with the types of :class:`ColumnType` (lower case)."""
    parsed = []
    for item in columns.split(","):
        words = item.split()
        if len(words) not in (2, 4) or (len(words) == 4 and words[2:] != ["not", "null"]):
            raise ValueError(f"column spec {item.strip()!r} of {schema}.{name}: use 'name type [not null]'")
        parsed.append(Column(words[0], ColumnType(words[1]), nullable=len(words) == 2))
    return TableLayout(Relation(schema, name), tuple(parsed))


ICI_SCHEMA = "ici"
_SHARES_COLUMNS = """
    asset_key text not null, model text not null, partition_key text, partition_kind text, node text not null,
    ici float not null, share float not null, share_low float, share_high float, code_version text not null,
    data_version text not null, materialized_at timestamptz not null, run_id text, target text not null,
    mechanism text, r2 float, n_rows integer, period_start date, period_end date
"""
#: Current shares: one set of rows per (asset_key, partition_key), replaced on every publish.
SHARES = table(ICI_SCHEMA, "ici_shares", _SHARES_COLUMNS)
#: Every set of shares ever published (append-only), same columns.
SHARES_HISTORY = table(ICI_SCHEMA, "ici_shares_history", _SHARES_COLUMNS)
#: Each node's intrinsic contribution to the target per period, for the whole-period asset.
CONTRIBUTIONS = table(
    ICI_SCHEMA,
    "ici_contributions",
    """asset_key text not null, model text not null, period date not null, node text not null,
    contribution float not null, code_version text not null, data_version text not null, run_id text""",
)
#: ICI shares beside last-click shares of the same period.
VS_LAST_CLICK = table(
    ICI_SCHEMA,
    "ici_vs_last_click",
    """asset_key text not null, model text not null, target text not null, node text not null,
    ici_share float not null, share_low float, share_high float, last_click_share float not null,
    period_start date, period_end date, run_id text, materialized_at timestamptz not null""",
)
#: The monthly time series: one row per node per monthly partition.
SHARES_OVER_TIME = ViewLayout(
    Relation(ICI_SCHEMA, "ici_shares_over_time"),
    SHARES,
    tuple(
        (c, "month" if c == "partition_key" else c)
        for c in "model asset_key partition_key period_start period_end node share share_low share_high "
        "data_version code_version materialized_at".split()
    ),
    where_equals=("partition_kind", "month"),
)
ICI_TABLES = (SHARES, SHARES_HISTORY, CONTRIBUTIONS, VS_LAST_CLICK)
ICI_VIEWS = (SHARES_OVER_TIME,)
