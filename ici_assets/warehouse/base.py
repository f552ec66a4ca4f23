"""The warehouse interface the ICI assets use, and the errors every implementation raises.

Two implementations: DuckDB (an embedded file) and PostgreSQL (a server); both build their reads
from the same requests through :class:`SqlReads`, each in its own SQL dialect. Asset code passes
structured requests (:mod:`.requests`) and declared layouts (:mod:`.layout`), never SQL text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ici_assets.warehouse import sql
from ici_assets.warehouse.layout import ADDED_COLUMNS
from ici_assets.warehouse.requests import Publish, Read, Relation, SumBy

if TYPE_CHECKING:
    import pandas as pd


def check_rows(items: Sequence[Publish]) -> list[Publish]:
    """Every item's rows carry every column of its table (checked before any connection opens); a column added to
    the layout after its first release (``ADDED_COLUMNS``) that the rows lack is filled with NULL, so writers built
    before it keep working. Returns the items to write."""
    items = [_with_added_columns(item) for item in items]
    for item in items:
        missing = [c for c in item.table.column_names if c not in item.rows.columns]
        if missing:
            raise ValueError(f"Rows for {item.table.relation} lack column(s) {missing}: nothing written.")
    return items


def _with_added_columns(item: Publish) -> Publish:
    """The item with NULL for each of its layout's ``ADDED_COLUMNS`` its rows lack."""
    from dataclasses import replace

    lacking = [c for c in item.table.column_names if c in ADDED_COLUMNS and c not in item.rows.columns]
    return replace(item, rows=item.rows.assign(**dict.fromkeys(lacking))) if lacking else item


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message names the warehouse, table or column, and the fix."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the warehouse (the embedded DuckDB file) for writing."""


class MissingRelationError(WarehouseError, ValueError):
    """The table or view does not exist."""

    def __init__(self, relation: Relation, location: str):
        self.relation, self.location = relation, location
        super().__init__(f"Table {relation} does not exist in warehouse {location}.")


class MissingColumnsError(WarehouseError, ValueError):
    """The table lacks columns the request names."""

    def __init__(self, relation: Relation, missing: Sequence[str], detail: str = ""):
        self.relation, self.missing = relation, list(missing)
        super().__init__(f"Table {relation} lacks column(s) {self.missing}" + (f" ({detail})" if detail else "") + ".")


class Warehouse(Protocol):
    """Reads node tables and publishes results; each publish is one transaction."""

    @property
    def location(self) -> str:
        """Where it is, for messages (a file path, or a server and database without credentials)."""
        ...

    def read(self, request: Read) -> pd.DataFrame:
        """The requested rows and columns; MissingRelationError / MissingColumnsError name what is absent."""
        ...

    def sum_by(self, request: SumBy) -> pd.DataFrame:
        """Sums of one column per group (columns ``by`` and ``value``)."""
        ...

    def distinct(self, relation: Relation, column: str) -> list[str]:
        """The distinct values of one column, as text, sorted."""
        ...

    def exists(self, relation: Relation) -> bool:
        """Whether the table or view exists."""
        ...

    def count_rows(self, relation: Relation) -> int:
        """The number of rows of a table or view."""
        ...

    def publish(self, items: Sequence[Publish]) -> None:
        """Apply every item in one transaction (all or nothing); create missing schemas, tables and views."""
        ...


class SqlReads(ABC):
    """``read``, ``sum_by`` and ``distinct`` of a warehouse that runs SQL of one ``dialect`` through ``_query``
    (which names the relation or columns that are missing)."""

    dialect: sql.Dialect

    @abstractmethod
    def _query(self, relation: Relation, columns: Sequence[str], text: str, params: list) -> pd.DataFrame: ...

    def read(self, request: Read) -> pd.DataFrame:
        return self._query(request.relation, request.columns, *sql.select(self.dialect, request))

    def sum_by(self, request: SumBy) -> pd.DataFrame:
        return self._query(request.relation, (request.by, request.value), *sql.sum_by(self.dialect, request))

    def distinct(self, relation: Relation, column: str) -> list[str]:
        return [str(v) for v in self._query(relation, (column,), sql.distinct(relation, column), [])["v"]]

    def count_rows(self, relation: Relation) -> int:
        return int(self._query(relation, (), sql.count_rows(relation), [])["n"].iloc[0])
