"""Dagster resources: the DuckDB warehouse the assets read and write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dagster as dg
import duckdb

from ici_assets import warehouse as wh


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse file (``$ICI_WAREHOUSE``, default ``data/warehouse.duckdb``)."""

    path: str
    wait_seconds: float = 120.0

    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection closed on exit; waits for a lock held by another writer."""
        with wh.connect(self.path, read_only=read_only, wait_seconds=self.wait_seconds) as con:
            yield con
