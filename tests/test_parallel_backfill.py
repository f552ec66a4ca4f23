"""A 24-partition backfill as concurrent Dagster runs (multiprocess executor) on one embedded
DuckDB file: no lock errors, no lost or duplicated rows, and the ``duckdb_warehouse`` pool
really lets one writer step run at a time across all runs.

Design: a persistent temporary DAGSTER_HOME whose dagster.yaml sets
``concurrency: pools: default_limit: 1``; runs launched with ``dagster.execute_job`` on the
reconstructable jobs of :mod:`ici_assets.jobs` from 2 worker processes
(:func:`ici_assets.runner.backfill_parallel`).
"""

import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import copy_dbt_project

N_BOOTSTRAP = 5  # the concurrency is under test, not the intervals: keep each partition cheap
N_REGIONS = 5
RAW = {"ops": {"raw_marketing_tables": {"config": {"n_regions": N_REGIONS, "n_days": 731}}}}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
POOL = "duckdb_warehouse"
MONTHLY = "ici/marketing_nodes/shares_by_month"
BY_REGION = "ici/marketing_nodes/shares_by_region"


def cheap_project(dest: Path) -> Path:
    """The demo dbt project with fewer bootstrap resamples, parsed."""
    from ici_assets.dbt import prepare_manifest

    project = copy_dbt_project(dest)
    yml = next(p for p in project.rglob("*.yml") if "n_bootstrap: 200" in p.read_text())
    yml.write_text(yml.read_text().replace("n_bootstrap: 200", f"n_bootstrap: {N_BOOTSTRAP}"))
    prepare_manifest(project)
    return project


def persistent_env(tmp: Path, project: Path, mp: pytest.MonkeyPatch, executor: str) -> dg.DagsterInstance:
    """Point every process (runs, step workers) at the same project, warehouse and DAGSTER_HOME."""
    from ici_assets import jobs

    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\n")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "ICI_DBT_PROJECT_DIR": str(project),
        "ICI_WAREHOUSE": str(tmp / "warehouse.duckdb"),
        "ICI_EXECUTOR": executor,
    }.items():
        mp.setenv(name, value)
    jobs.reload()
    return dg.DagsterInstance.get()


@pytest.fixture(scope="module")
def backfill(tmp_path_factory):
    from ici_assets import jobs
    from ici_assets.runner import backfill_parallel

    tmp = tmp_path_factory.mktemp("parallel")
    project = cheap_project(tmp / "dbt_project")
    with pytest.MonkeyPatch.context() as mp:
        instance = persistent_env(tmp, project, mp, "multiprocess")
        with dg.execute_job(
            dg.reconstructable(jobs.demo_job),
            instance=instance,
            run_config={**RAW, **QUIET, **jobs.multiprocess_run_config()},
        ) as demo:
            assert demo.success
            demo_run_id = demo.run_id
        months = jobs.shares_by_month_job().partitions_def.get_partition_keys()
        regions = jobs.shares_by_region_job().partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        # months and regions interleaved so both jobs' runs overlap in time
        runs = [(jobs.shares_by_month_job, m) for m in months]
        for i, r in enumerate(regions):
            runs.insert(2 * i + 1, (jobs.shares_by_region_job, r))
        results = backfill_parallel(runs, instance, workers=2, run_config={**QUIET, **jobs.multiprocess_run_config()})
        yield {
            "instance": instance,
            "results": results,
            "months": months,
            "regions": regions,
            "warehouse": os.environ["ICI_WAREHOUSE"],
            "demo_run_id": demo_run_id,
        }
        instance.dispose()
        jobs.reload()


def test_jobs_use_the_multiprocess_executor(backfill):
    from ici_assets import jobs

    for fn in (jobs.demo_job, jobs.shares_by_month_job, jobs.shares_by_region_job):
        assert fn().executor_def.name == "multiprocess"
    # ... and the steps really ran in their own processes, not in the run's process
    instance = backfill["instance"]
    for _, run_id, _ in backfill["results"][:3]:
        events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
        run_pid = next(e.pid for e in events if e.event_type == dg.DagsterEventType.RUN_START)
        step_pids = {e.pid for e in events if e.event_type == dg.DagsterEventType.STEP_START}
        assert step_pids and run_pid not in step_pids


def test_every_run_succeeded(backfill):
    results = backfill["results"]
    assert len(results) == len(backfill["months"]) + len(backfill["regions"]) >= 24
    assert [k for k, _, ok in results if not ok] == []
    for _, run_id, _ in results:
        failures = [
            e
            for e in backfill["instance"].all_logs(run_id)
            if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        assert failures == []


def test_one_set_of_rows_per_partition_and_run(backfill):
    with duckdb.connect(backfill["warehouse"], read_only=True) as con:
        groups = con.execute(
            "SELECT asset_key, partition_key, count(*), count(DISTINCT node), count(DISTINCT run_id) "
            "FROM ici.ici_shares WHERE partition_key IS NOT NULL GROUP BY ALL"
        ).fetchall()
        history = dict(
            con.execute(
                "SELECT run_id, count(*) FROM ici.ici_shares_history WHERE partition_key IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
        sums = con.execute(
            "SELECT max(abs(s - 100)) FROM (SELECT sum(share) s FROM ici.ici_shares "
            "WHERE partition_key IS NOT NULL GROUP BY asset_key, partition_key)"
        ).fetchone()[0]
    expected = {(MONTHLY, m) for m in backfill["months"]} | {(BY_REGION, r) for r in backfill["regions"]}
    assert {(a, p) for a, p, *_ in groups} == expected
    assert all(n == 6 and nodes == 6 and runs == 1 for _, _, n, nodes, runs in groups)
    assert history == {run_id: 6 for _, run_id, _ in backfill["results"]}
    assert sums < 1e-6


def _interval(instance, run_id, start_type, end_type):
    events = [e for e in instance.all_logs(run_id) if e.dagster_event]
    start = next(e.timestamp for e in events if e.dagster_event.event_type == start_type)
    end = next(e.timestamp for e in events if e.dagster_event.event_type == end_type)
    return start, end


def test_pool_serialises_writer_steps_across_concurrent_runs(backfill):
    instance = backfill["instance"]
    run_ids = [run_id for _, run_id, _ in backfill["results"]]
    runs = sorted(
        _interval(instance, r, dg.DagsterEventType.RUN_START, dg.DagsterEventType.RUN_SUCCESS) for r in run_ids
    )
    steps = sorted(
        _interval(instance, r, dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS) for r in run_ids
    )
    # the runs did go in parallel ...
    assert sum(b[0] < a[1] for a, b in zip(runs, runs[1:])) >= len(runs) // 3
    # ... but no two warehouse-writing steps overlapped: the pool held them to one at a time
    overlaps = [(a, b) for a, b in zip(steps, steps[1:]) if b[0] < a[1]]
    assert overlaps == []
    info = instance.event_log_storage.get_concurrency_info(POOL)
    assert info.slot_count == 1 and info.active_slot_count == 0 and info.pending_step_count == 0
