"""The compute pools: a plain worker function, run in this process, in local worker processes or on a
Dask cluster, gives the same numbers bit for bit; failures come back as values naming the cause."""

import os
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.assets.fanout import logged_worker_pids
from ici_assets.compute import DaskPool, FitSettings, InlinePool, LocalProcessPool, fit_slice
from ici_assets.demo import simulate_nodes

EDGES = tuple(
    [(p, c) for c in ("organic_clicks", "social_clicks") for p in ("demand", "tv_adstock", "social_spend")]
    + [("organic_clicks", "revenue"), ("social_clicks", "revenue")]
)
SETTINGS = FitSettings(
    nodes=("demand", "tv_adstock", "social_spend", "organic_clicks", "social_clicks", "revenue"),
    edges=EDGES,
    target="revenue",
    n_bootstrap=50,
)


@pytest.fixture(scope="module")
def tasks():
    nodes = simulate_nodes(seed=3, n_regions=3, n_days=300)
    return [(frame.reset_index(drop=True), SETTINGS) for _, frame in nodes.groupby("region")]


def collect(pool, tasks) -> dict[int, object]:
    return dict(pool.run(fit_slice, tasks))


def tables(results: dict[int, object]) -> list[np.ndarray]:
    return [results[i].table[["ici", "share", "share_low", "share_high"]].to_numpy() for i in sorted(results)]


def test_worker_needs_only_the_engine():
    """Importing the worker loads no Dagster, no DuckDB and no warehouse code (what a Dask worker needs)."""
    code = (
        "import sys, ici_assets.compute.worker\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'duckdb', 'dagster_dbt')"
        " or m.startswith('ici_assets.warehouse'))\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_worker_result(tasks):
    outcome = fit_slice(*tasks[0])
    assert outcome.table["share"].sum() == pytest.approx(100.0, abs=1e-9)
    assert set(outcome.table["node"]) == set(SETTINGS.nodes)
    assert outcome.kinds["revenue"] == "linear" and outcome.r2["revenue"] > 0.9
    assert len(outcome.markov) > 0 and outcome.pid == os.getpid()


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_local_processes_give_the_inline_numbers(tasks, start_method):
    inline = collect(InlinePool(), tasks)
    local = collect(LocalProcessPool(max_workers=2, start_method=start_method), tasks)
    for a, b in zip(tables(inline), tables(local), strict=True):
        np.testing.assert_array_equal(a, b)  # bit for bit
    pids = {r.pid for r in local.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_a_failing_task_comes_back_as_its_error(tasks):
    constant = tasks[0][0].assign(tv_adstock=1000.0)
    for pool in (InlinePool(), LocalProcessPool(max_workers=2)):
        results = collect(pool, [tasks[1], (constant, SETTINGS)])
        assert isinstance(results[1], ValueError) and "tv_adstock" in str(results[1])
        assert results[0].table["share"].sum() == pytest.approx(100.0)  # the other task is unharmed


def test_unreachable_scheduler_is_named():
    pool = DaskPool("tcp://127.0.0.1:9", timeout_seconds=2)
    with pytest.raises(RuntimeError, match=r"Could not reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        list(pool.run(fit_slice, [(pd.DataFrame(), SETTINGS)]))


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield cluster.scheduler_address, set(client.run(os.getpid).values())


@pytest.mark.cluster
def test_dask_pool_gives_the_local_numbers(tasks, cluster):
    address, worker_pids = cluster
    on_dask = collect(DaskPool(address), tasks)
    local = collect(LocalProcessPool(max_workers=2), tasks)
    for a, b in zip(tables(on_dask), tables(local), strict=True):
        np.testing.assert_array_equal(a, b)
    assert {r.pid for r in on_dask.values()} <= worker_pids


@pytest.mark.cluster
@pytest.mark.slow
def test_region_backfill_on_dask_publishes_the_local_shares(small_base, cluster, tmp_path):
    """The same single-run backfill with the pool configured as Dask: every fit ran on a cluster
    worker, and the published rows equal those of the local-process pool to the bit."""
    from ici_assets.demo.location import build_demo_definitions
    from ici_assets.dev.runner import range_tags

    address, worker_pids = cluster
    project, base = small_base
    shares = {}
    for kind in ("local", "dask"):
        warehouse = tmp_path / f"{kind}.duckdb"
        shutil.copy(base, warehouse)
        defs = build_demo_definitions(project, warehouse)
        instance = dg.DagsterInstance.ephemeral()
        with duckdb.connect(str(warehouse), read_only=True) as con:
            regions = [
                r for (r,) in con.execute("SELECT DISTINCT region FROM main.marketing_nodes ORDER BY 1").fetchall()
            ]
        instance.add_dynamic_partitions("marketing_nodes__region", regions)
        config = {"resources": {"compute_pool": {"config": {"kind": kind, "scheduler_address": address}}}}
        result = defs.resolve_job_def("ici__marketing_nodes__shares_by_region_job").execute_in_process(
            instance=instance, tags=range_tags(regions), run_config=config
        )
        pids = logged_worker_pids(instance, result.run_id)
        assert pids
        assert (set(pids) <= worker_pids) == (kind == "dask"), (kind, pids, worker_pids)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            shares[kind] = con.execute(
                "SELECT partition_key, node, ici, share, share_low, share_high, data_version FROM ici.ici_shares "
                "WHERE partition_key IS NOT NULL ORDER BY ALL"
            ).fetchall()
    assert len(shares["dask"]) == 6 * len(regions) >= 30
    assert shares["dask"] == shares["local"]


def test_worker_passes_the_time_column_to_the_engine(tasks):
    """With the model's time column the engine resamples blocks of days: the worker's intervals are
    exactly those of the engine's own entry point given that column, and differ from row resampling."""
    from dataclasses import replace

    from ici_assets.engine import compute_ici

    frame = tasks[0][0]
    by_day = fit_slice(frame, replace(SETTINGS, time_column="date")).table.set_index("node")
    engine = compute_ici(
        frame, list(EDGES), "revenue", time_column="date", n_bootstrap=SETTINGS.n_bootstrap, seed=SETTINGS.seed
    ).set_index("node")
    cols = ["share", "share_low", "share_high"]
    np.testing.assert_array_equal(by_day.loc[engine.index, cols].to_numpy(), engine[cols].to_numpy())
    by_row = fit_slice(frame, SETTINGS).table.set_index("node")
    assert not np.array_equal(by_row.loc[engine.index, "share_low"].to_numpy(), engine["share_low"].to_numpy())
