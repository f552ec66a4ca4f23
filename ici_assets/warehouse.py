"""The embedded DuckDB warehouse: connections that wait for a busy file and atomic writes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from ici_assets.sql import check_identifier, quote_identifier

ICI_SCHEMA = "ici"
SHARES_TABLE = "ici_shares"
HISTORY_TABLE = "ici_shares_history"

#: Columns of ``ici.ici_shares`` and ``ici.ici_shares_history`` (same layout).
SHARES_COLUMNS: dict[str, str] = {
    "asset_key": "VARCHAR NOT NULL",
    "model": "VARCHAR NOT NULL",
    "partition_key": "VARCHAR",
    "partition_kind": "VARCHAR",
    "node": "VARCHAR NOT NULL",
    "ici": "DOUBLE NOT NULL",
    "share": "DOUBLE NOT NULL",
    "share_low": "DOUBLE",
    "share_high": "DOUBLE",
    "code_version": "VARCHAR NOT NULL",
    "data_version": "VARCHAR NOT NULL",
    "materialized_at": "TIMESTAMP WITH TIME ZONE NOT NULL",
    "run_id": "VARCHAR",
    "target": "VARCHAR NOT NULL",
    "mechanism": "VARCHAR",
    "r2": "DOUBLE",
    "n_rows": "BIGINT",
    "period_start": "DATE",
    "period_end": "DATE",
}
CONTRIBUTIONS_TABLE = "ici_contributions"
#: Columns of ``ici.ici_contributions``: each node's intrinsic contribution per period.
CONTRIBUTIONS_COLUMNS: dict[str, str] = {
    "asset_key": "VARCHAR NOT NULL",
    "model": "VARCHAR NOT NULL",
    "period": "DATE NOT NULL",
    "node": "VARCHAR NOT NULL",
    "contribution": "DOUBLE NOT NULL",
    "code_version": "VARCHAR NOT NULL",
    "data_version": "VARCHAR NOT NULL",
    "run_id": "VARCHAR",
}
OVER_TIME_VIEW = "ici_shares_over_time"


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file for writing."""


@contextlib.contextmanager
def connect(
    path: str | Path, *, read_only: bool = False, wait_seconds: float = 60.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting up to ``wait_seconds`` while another process holds its lock.

    DuckDB allows one writing process per file; dbt runs as a subprocess, so a connection
    is opened late and closed early. A file still busy after the wait raises
    :class:`WarehouseLockedError` naming the file and what to do.
    """
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
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, key_column: str, key: str) -> None:
    """Atomically replace the rows of ``ici.<table>`` whose ``key_column`` equals ``key`` (creates the table)."""
    check_identifier(table, "table")
    check_identifier(key_column, "column")
    con.register("_ici_replace", frame)
    try:
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {ICI_SCHEMA}")
            con.execute(f"CREATE TABLE IF NOT EXISTS {ICI_SCHEMA}.{table} AS SELECT * FROM _ici_replace WHERE false")
            con.execute(f"DELETE FROM {ICI_SCHEMA}.{table} WHERE {quote_identifier(key_column)} = ?", [key])
            con.execute(f"INSERT INTO {ICI_SCHEMA}.{table} BY NAME SELECT * FROM _ici_replace")
    finally:
        con.unregister("_ici_replace")


def _columns_sql(columns: dict[str, str]) -> str:
    return ", ".join(f"{quote_identifier(c)} {t}" for c, t in columns.items())


def ensure_ici_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema ``ici``, its tables and the time-series view if missing (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ICI_SCHEMA}")
    for table in (SHARES_TABLE, HISTORY_TABLE):
        con.execute(f"CREATE TABLE IF NOT EXISTS {ICI_SCHEMA}.{table} ({_columns_sql(SHARES_COLUMNS)})")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {ICI_SCHEMA}.{CONTRIBUTIONS_TABLE} ({_columns_sql(CONTRIBUTIONS_COLUMNS)})"
    )
    con.execute(
        f"""CREATE OR REPLACE VIEW {ICI_SCHEMA}.{OVER_TIME_VIEW} AS
            SELECT model, asset_key, partition_key AS month, period_start, period_end, node,
                   share, share_low, share_high, data_version, code_version, materialized_at
            FROM {ICI_SCHEMA}.{SHARES_TABLE}
            WHERE partition_kind = 'month'"""
    )


def _one_key(rows: pd.DataFrame, what: str) -> tuple[str, object]:
    keys = rows[["asset_key", "partition_key"]].drop_duplicates()
    if len(keys) != 1:
        raise ValueError(f"{what}: rows must belong to exactly one (asset_key, partition_key)")
    asset_key, partition_key = keys.iloc[0]
    return str(asset_key), (None if pd.isna(partition_key) else partition_key)


def write_shares(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, contributions: pd.DataFrame | None = None) -> None:
    """Replace the current shares of (asset, partition), append them to history, atomically.

    One transaction: ``ici.ici_shares``, ``ici.ici_shares_history`` and (if given) the asset's
    rows of ``ici.ici_contributions`` all change or none does, so a crash mid-write leaves the
    previous results intact. History rows are only ever inserted.
    """
    missing = [c for c in SHARES_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"write_shares: rows lack columns {missing}")
    asset_key, partition_key = _one_key(rows, "write_shares")
    shares_cols = ", ".join(quote_identifier(c) for c in SHARES_COLUMNS)
    contrib_cols = ", ".join(quote_identifier(c) for c in CONTRIBUTIONS_COLUMNS)
    con.register("_ici_new_rows", rows[list(SHARES_COLUMNS)])
    if contributions is not None:
        con.register("_ici_new_contrib", contributions[list(CONTRIBUTIONS_COLUMNS)])
    try:
        with transaction(con):
            ensure_ici_tables(con)
            con.execute(
                f"DELETE FROM {ICI_SCHEMA}.{SHARES_TABLE} WHERE asset_key = ? AND partition_key IS NOT DISTINCT FROM ?",
                [asset_key, partition_key],
            )
            for table in (SHARES_TABLE, HISTORY_TABLE):
                con.execute(f"INSERT INTO {ICI_SCHEMA}.{table} ({shares_cols}) SELECT {shares_cols} FROM _ici_new_rows")
            if contributions is not None:
                con.execute(f"DELETE FROM {ICI_SCHEMA}.{CONTRIBUTIONS_TABLE} WHERE asset_key = ?", [asset_key])
                con.execute(
                    f"INSERT INTO {ICI_SCHEMA}.{CONTRIBUTIONS_TABLE} ({contrib_cols}) "
                    f"SELECT {contrib_cols} FROM _ici_new_contrib"
                )
    finally:
        con.unregister("_ici_new_rows")
        if contributions is not None:
            con.unregister("_ici_new_contrib")
