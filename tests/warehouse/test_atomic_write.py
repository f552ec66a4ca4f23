"""Publishing shares is one DuckDB transaction: a process killed by SIGKILL in the middle of it leaves
ici.ici_shares, ici.ici_shares_history and ici.ici_contributions exactly as they were."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

import duckdb
import pandas as pd
import pytest

from ici_assets.publish.rows import shares_items
from ici_assets.warehouse import DuckDBWarehouse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODES = ["demand", "tv_spend", "social_spend", "organic_clicks", "social_clicks", "revenue"]


def shares_rows(run_id: str, share: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "asset_key": "ici/m/shares",
            "model": "m",
            "partition_key": None,
            "partition_kind": None,
            "node": NODES,
            "ici": 1.0,
            "share": share,
            "share_low": share - 1,
            "share_high": share + 1,
            "code_version": "c",
            "data_version": run_id,
            "materialized_at": pd.Timestamp("2025-01-01", tz="UTC"),
            "run_id": run_id,
            "target": "revenue",
            "mechanism": "linear",
            "r2": 0.9,
            "n_rows": 10,
            "period_start": pd.Timestamp("2024-01-01").date(),
            "period_end": pd.Timestamp("2024-12-31").date(),
        }
    )


def contributions(run_id: str, n_periods: int) -> pd.DataFrame:
    periods = pd.date_range("1900-01-01", periods=n_periods, freq="D").date
    return pd.DataFrame(
        {
            "asset_key": "ici/m/shares",
            "model": "m",
            "period": [p for p in periods for _ in NODES],
            "node": NODES * n_periods,
            "contribution": 1.5,
            "code_version": "c",
            "data_version": run_id,
            "run_id": run_id,
        }
    )


def snapshot(path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return tuple(
            con.execute(f"SELECT * FROM ici.{t} ORDER BY ALL").fetchall()
            for t in ("ici_shares", "ici_shares_history", "ici_contributions")
        )


# The child publishes a second, much bigger result; it prints READY just before it publishes.
CHILD = textwrap.dedent("""
    import sys
    from tests.warehouse.test_atomic_write import contributions, publish, shares_rows
    path, n = sys.argv[1], int(sys.argv[2])
    rows, contrib = shares_rows("second", 20.0), contributions("second", n)
    print("READY", flush=True)
    publish(path, rows, contrib)
    print("DONE", flush=True)
""")


def publish(path, rows: pd.DataFrame, contrib: pd.DataFrame) -> None:
    """What every shares asset does: replace the current shares and contributions, append the history."""
    DuckDBWarehouse(path).publish(shares_items(rows, contrib))


BIG = 3_000_000 // len(NODES)  # 3 million contribution rows: a write of about a second or more


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A warehouse holding a first, committed result (small contributions), and its snapshot."""
    path = tmp_path_factory.mktemp("atomic") / "base.duckdb"
    publish(path, shares_rows("first", 100 / 6), contributions("first", 30))
    return path, snapshot(path)


def kill_writer_mid_publish(child_code: str, fresh_target: Callable[[int], str], delay: float) -> str:
    """Start a child that publishes BIG rows to a fresh target, SIGKILL it `delay` seconds after it is READY,
    and return the target it died writing to.

    The delay is aimed from a write timed in this process; on a busy machine the child can be quicker and
    finish first. That attempt tests nothing (its write committed whole), so it is repeated on a fresh
    target with half the delay, up to four times; a child that always finishes fails the test."""
    for attempt in range(4):
        target = fresh_target(attempt)
        child = subprocess.Popen(
            [sys.executable, "-c", child_code, target, str(BIG)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "READY"
            time.sleep(delay / 2**attempt)
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if "DONE" in out:  # the publish returned before the signal: aim earlier
            continue
        assert child.returncode == -signal.SIGKILL, err
        return target
    raise AssertionError(f"the writer finished its publish before SIGKILL in 4 attempts (first delay {delay:.2f} s)")


def write_duration(tmp_path) -> float:
    """How long the child's write takes when left alone (to aim the kills inside it)."""
    path = tmp_path / "timing.duckdb"
    rows, contrib = shares_rows("second", 20.0), contributions("second", BIG)
    t0 = time.perf_counter()
    publish(path, rows, contrib)
    return time.perf_counter() - t0


@pytest.fixture(scope="module")
def duration(tmp_path_factory):
    return write_duration(tmp_path_factory.mktemp("timing"))


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.6])
def test_sigkill_mid_write_keeps_previous_results(first, duration, tmp_path, fraction):
    import shutil

    base, before = first

    def fresh_copy(attempt: int) -> str:
        path = tmp_path / f"wh{attempt}.duckdb"
        shutil.copy(base, path)
        return str(path)

    path = kill_writer_mid_publish(CHILD, fresh_copy, duration * fraction)
    after = snapshot(path)  # the file opens (WAL replayed or discarded) and reads
    assert after == before
    assert len(after[2]) == 30 * len(NODES) and {r[12] for r in after[1]} == {"first"}
    # and the warehouse still takes writes
    publish(path, shares_rows("third", 20.0), contributions("third", 3))
    assert len(snapshot(path)[1]) == 12


def test_uninterrupted_write_replaces_all_three_tables(first, tmp_path):
    import shutil

    path = tmp_path / "wh.duckdb"
    shutil.copy(first[0], path)
    publish(path, shares_rows("second", 20.0), contributions("second", 7))
    shares, history, contrib = snapshot(path)
    assert {r[12] for r in shares} == {"second"} and len(shares) == 6
    assert len(history) == 12 and len(contrib) == 7 * len(NODES)
