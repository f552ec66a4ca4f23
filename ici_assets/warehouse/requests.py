"""Structured requests to a warehouse: asset code says what it wants, never how in SQL.

Every name (schema, table, column) is checked here to be a plain identifier, so a name from
dbt YAML or configuration can never close a quote or start a second statement; every value
(a date, a segment, an asset key) travels as a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from ici_assets.warehouse.layout import TableLayout

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_identifier(name: object, what: str) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise ValueError naming ``what``.

    Only letters, digits and underscores (not starting with a digit) are accepted.
    """
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(
            f"{what} {name!r} is not a plain SQL identifier: use letters, digits and "
            "underscores only (no quotes, spaces, dots or semicolons)."
        )
    return name


@dataclass(frozen=True)
class Relation:
    """A table or view: ``schema.name``."""

    schema: str
    name: str

    def __post_init__(self) -> None:
        check_identifier(self.schema, "schema")
        check_identifier(self.name, "table")

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class TimeRange:
    """Rows whose ``column`` (a date) lies in ``[start, end)``."""

    column: str
    start: date
    end: date

    def __post_init__(self) -> None:
        check_identifier(self.column, "time column")


@dataclass(frozen=True)
class OneOf:
    """Rows whose ``column``, compared as text, is one of ``values``."""

    column: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        check_identifier(self.column, "column")


@dataclass(frozen=True)
class Equals:
    """Rows whose ``column`` equals ``value``; ``None`` matches NULL."""

    column: str
    value: str | None

    def __post_init__(self) -> None:
        check_identifier(self.column, "column")


Filter = TimeRange | OneOf | Equals


@dataclass(frozen=True)
class Read:
    """``columns`` of ``relation`` (rows matching every filter), ordered by ``order_by``."""

    relation: Relation
    columns: tuple[str, ...]
    where: tuple[Filter, ...] = ()
    order_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for c in (*self.columns, *self.order_by):
            check_identifier(c, f"column of {self.relation}")

    @classmethod
    def of_asset(cls, relation: Relation, asset_key: str, columns: Sequence[str], partition_column: str) -> Read:
        """One asset's rows of a result table (every partition's), ordered by partition and node."""
        return cls(relation, tuple(columns), (Equals("asset_key", asset_key),), (partition_column, "node"))


@dataclass(frozen=True)
class SumBy:
    """``sum(value)`` of ``relation`` per distinct ``by`` (as text), over rows matching ``where``.

    Returns a frame with columns ``by`` (the group, as text) and ``value``.
    """

    relation: Relation
    by: str
    value: str
    where: tuple[Filter, ...] = ()

    def __post_init__(self) -> None:
        check_identifier(self.by, f"column of {self.relation}")
        check_identifier(self.value, f"column of {self.relation}")


@dataclass(frozen=True)
class Append:
    """Insert ``rows`` into ``table`` (created if missing)."""

    table: TableLayout
    rows: pd.DataFrame = field(compare=False)


@dataclass(frozen=True)
class Replace:
    """Delete the rows of ``table`` whose ``key`` columns equal those of any row of ``rows`` (NULL matches
    NULL), then insert ``rows``: e.g. key ``(asset_key, partition_key)`` replaces those partitions' results."""

    table: TableLayout
    rows: pd.DataFrame = field(compare=False)
    key: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError(f"Replace on {self.table.relation} needs key columns")
        for c in self.key:
            if c not in self.table.column_names:
                raise ValueError(f"key column {c!r} is not a column of {self.table.relation}")


@dataclass(frozen=True)
class Recreate:
    """Drop ``table`` if it exists and create it again holding ``rows``."""

    table: TableLayout
    rows: pd.DataFrame = field(compare=False)


Publish = Append | Replace | Recreate
