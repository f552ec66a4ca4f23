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
    "model": "VARCHAR NOT NULL",
    "partition_key": "VARCHAR",
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
    "n_rows": "BIGINT",
}


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file for writing."""


@contextlib.contextmanager
def connect(path: str | Path, *, read_only: bool = False, wait_seconds: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
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


def _create_shares_tables(con: duckdb.DuckDBPyConnection) -> None:
    cols = ", ".join(f"{quote_identifier(c)} {t}" for c, t in SHARES_COLUMNS.items())
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ICI_SCHEMA}")
    for table in (SHARES_TABLE, HISTORY_TABLE):
        con.execute(f"CREATE TABLE IF NOT EXISTS {ICI_SCHEMA}.{table} ({cols})")


def write_shares(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Replace the current shares of (model, partition_key) and append them to history, atomically.

    One transaction: either both ``ici.ici_shares`` and ``ici.ici_shares_history`` change or
    neither does, so a crash mid-write leaves the previous results intact.
    """
    missing = [c for c in SHARES_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"write_shares: rows lack columns {missing}")
    keys = rows[["model", "partition_key"]].drop_duplicates()
    if len(keys) != 1:
        raise ValueError("write_shares: rows must belong to exactly one (model, partition_key)")
    model, partition_key = keys.iloc[0]
    check_identifier(model, "model")
    frame = rows[list(SHARES_COLUMNS)].copy()
    col_list = ", ".join(quote_identifier(c) for c in SHARES_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        _create_shares_tables(con)
        con.register("_ici_new_rows", frame)
        con.execute(
            f"DELETE FROM {ICI_SCHEMA}.{SHARES_TABLE} WHERE model = ? AND partition_key IS NOT DISTINCT FROM ?",
            [model, None if pd.isna(partition_key) else partition_key],
        )
        for table in (SHARES_TABLE, HISTORY_TABLE):
            con.execute(f"INSERT INTO {ICI_SCHEMA}.{table} ({col_list}) SELECT {col_list} FROM _ici_new_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_ici_new_rows")
