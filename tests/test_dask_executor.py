"""Scale-out: the same definitions on a real Dask cluster, chosen by configuration only.

A ``distributed.LocalCluster`` (scheduler + 2 worker processes on loopback) is started here;
``ICI_EXECUTOR=dask`` makes every job use dagster-dask's executor, and the run config points
it at the cluster's address (``cluster: existing``), as it would at a remote scheduler. The
whole demo job (raw tables, dbt build, SCM, shares) and several partitions, two runs at a
time, execute their steps on the Dask workers, and give the same numbers as in-process runs.
"""

import logging
import os

import dagster as dg
import duckdb
import pytest

from tests.test_parallel_backfill import QUIET, cheap_project, persistent_env

distributed = pytest.importorskip("distributed")

RAW = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 3, "n_days": 731}}}}
BY_REGION = "ici/marketing_nodes/shares_by_region"
MONTHLY = "ici/marketing_nodes/shares_by_month"


@pytest.fixture(scope="module")
def dask_runs(tmp_path_factory):
    from ici_assets import jobs
    from ici_assets.executors import dask_run_config
    from ici_assets.runner import backfill_parallel

    tmp = tmp_path_factory.mktemp("dask")
    project = cheap_project(tmp / "dbt_project")
    with pytest.MonkeyPatch.context() as mp:
        instance = persistent_env(tmp, project, mp, "dask")
        # workers are started after the ICI_* variables are set, so they inherit them
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            worker_pids = set(client.run(os.getpid).values())
            run_config = {**QUIET, **dask_run_config(cluster.scheduler_address)}
            with dg.execute_job(
                dg.reconstructable(jobs.demo_job), instance=instance, run_config={**RAW, **run_config}
            ) as demo:
                demo_ok, demo_run_id = demo.success, demo.run_id
            assert demo_ok, "ici_demo failed on the Dask cluster"
            regions = jobs.shares_by_region_job().partitions_def.get_partition_keys(dynamic_partitions_store=instance)
            months = jobs.shares_by_month_job().partitions_def.get_partition_keys()[-1:]
            runs = [(jobs.shares_by_region_job, r) for r in regions] + [(jobs.shares_by_month_job, m) for m in months]
            results = backfill_parallel(runs, instance, workers=2, run_config=run_config)
            yield {
                "instance": instance,
                "worker_pids": worker_pids,
                "demo_run_id": demo_run_id,
                "results": results,
                "regions": regions,
                "months": months,
                "warehouse": os.environ["ICI_WAREHOUSE"],
                "run_config": run_config,
            }
        instance.dispose()
        jobs.reload()


def _step_events(instance, run_id):
    return [
        e.dagster_event
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_START
    ]


def _shares_of_run(dask_runs, run_id):
    """The shares one run wrote (its rows of ici.ici_shares_history)."""
    with duckdb.connect(dask_runs["warehouse"], read_only=True) as con:
        return con.execute(
            "SELECT node, ici, share, share_low, share_high FROM ici.ici_shares_history WHERE run_id = ? ORDER BY node",
            [run_id],
        ).fetchall()


def test_jobs_use_the_dask_executor(dask_runs):
    from ici_assets import jobs

    for fn in (jobs.demo_job, jobs.shares_by_month_job, jobs.shares_by_region_job):
        assert fn().executor_def.name == "dask"


def test_every_step_ran_on_a_dask_worker(dask_runs):
    instance = dask_runs["instance"]
    run_ids = [dask_runs["demo_run_id"]] + [run_id for _, run_id, _ in dask_runs["results"]]
    step_keys, pids = set(), set()
    for run_id in run_ids:
        for event in _step_events(instance, run_id):
            step_keys.add(event.step_key)
            pids.add(event.pid)
    # raw data, the dbt build, the SCM, the shares and both partitioned assets ...
    assert {
        "raw_marketing_tables",
        "ici__marketing_nodes__scm",
        "ici__marketing_nodes__shares",
        "ici__marketing_nodes__shares_by_region",
        "ici__marketing_nodes__shares_by_month",
    } <= step_keys
    assert any("dbt" in key or "marketing" in key for key in step_keys - {"raw_marketing_tables"})
    # ... all in the cluster's worker processes, and on both of them
    assert pids <= dask_runs["worker_pids"]
    assert len(pids) == 2


def test_partitions_materialised_once_each(dask_runs):
    results = dask_runs["results"]
    assert len(results) == len(dask_runs["regions"]) + len(dask_runs["months"]) >= 4
    assert [k for k, _, ok in results if not ok] == []
    with duckdb.connect(dask_runs["warehouse"], read_only=True) as con:
        groups = con.execute(
            "SELECT asset_key, partition_key, count(*), count(DISTINCT run_id), abs(sum(share) - 100) "
            "FROM ici.ici_shares WHERE partition_key IS NOT NULL GROUP BY ALL"
        ).fetchall()
        history = dict(
            con.execute(
                "SELECT run_id, count(*) FROM ici.ici_shares_history WHERE partition_key IS NOT NULL GROUP BY 1"
            ).fetchall()
        )
    expected = {(BY_REGION, r) for r in dask_runs["regions"]} | {(MONTHLY, m) for m in dask_runs["months"]}
    assert {(a, p) for a, p, *_ in groups} == expected
    assert all(n == 6 and runs == 1 and gap < 1e-6 for _, _, n, runs, gap in groups)
    assert history == {run_id: 6 for _, run_id, _ in results}
    materialised = {
        (key, record.partition_key)
        for key in (BY_REGION, MONTHLY)
        for record in dask_runs["instance"]
        .fetch_materializations(dg.AssetKey.from_user_string(key), limit=1000)
        .records
    }
    assert expected <= materialised


def test_same_shares_as_an_in_process_run(dask_runs):
    """The executor moves steps, not numbers: one region re-run in process gives identical shares."""
    from ici_assets import jobs

    region = dask_runs["regions"][0]
    again = jobs.shares_by_region_job().execute_in_process(
        instance=dask_runs["instance"], partition_key=region, run_config=QUIET
    )
    assert again.success
    dask_run = next(run_id for key, run_id, _ in dask_runs["results"] if key == region)
    assert _shares_of_run(dask_runs, again.run_id) == _shares_of_run(dask_runs, dask_run)
    assert len(_shares_of_run(dask_runs, dask_run)) == 6


def test_reexecuting_one_step_on_dask_uses_the_parent_runs_output(dask_runs):
    """Re-executing only the shares step of the demo run: its input (the fitted SCM) comes from
    the parent run, not from a step of this run, and the shares come out identical."""
    from ici_assets import jobs

    instance = dask_runs["instance"]
    options = dg.ReexecutionOptions(
        parent_run_id=dask_runs["demo_run_id"], step_selection=["ici__marketing_nodes__shares"]
    )
    with dg.execute_job(
        dg.reconstructable(jobs.demo_job),
        instance=instance,
        reexecution_options=options,
        run_config={**RAW, **dask_runs["run_config"]},
    ) as again:
        assert again.success
        started = {e.step_key for e in _step_events(instance, again.run_id)}
        rerun_id = again.run_id
    assert started == {"ici__marketing_nodes__shares"}
    assert _shares_of_run(dask_runs, rerun_id) == _shares_of_run(dask_runs, dask_runs["demo_run_id"])
    assert len(_shares_of_run(dask_runs, rerun_id)) == 6


def test_failed_blocking_check_blocks_downstream_steps_on_dask(dask_runs):
    """Runs last: it breaks the node table. The SCM's coverage check fails; the shares and the
    last-click comparison never start on the cluster, and the published shares stay as they were."""
    from ici_assets import jobs

    with duckdb.connect(dask_runs["warehouse"]) as con:
        before = con.execute("SELECT * FROM ici.ici_shares ORDER BY ALL").fetchall()
        con.execute("DELETE FROM main.marketing_nodes WHERE date BETWEEN DATE '2024-03-01' AND DATE '2024-03-03'")
    selection = [dg.AssetKey(["ici", "marketing_nodes", name]) for name in ("scm", "shares", "ici_vs_last_click")]
    with dg.execute_job(
        dg.reconstructable(jobs.demo_job),
        instance=dask_runs["instance"],
        asset_selection=selection,
        run_config=dask_runs["run_config"],
        raise_on_error=False,
    ) as result:
        assert not result.success
        started = {e.step_key for e in _step_events(dask_runs["instance"], result.run_id)}
        failed = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE}
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        errors = [
            e.user_message
            for e in dask_runs["instance"].all_logs(result.run_id)
            if e.dagster_event is None and e.level >= logging.ERROR
        ]
    assert started == failed == {"ici__marketing_nodes__scm"}
    # the run's log says why, in the words of Dagster's own executors
    assert (
        "Dependencies for step ici__marketing_nodes__shares failed: ['ici__marketing_nodes__scm']. Not executing."
    ) in errors
    assert any(
        m.startswith("Dependencies for step ici__marketing_nodes__ici_vs_last_click")
        and "were not executed: ['ici__marketing_nodes__shares']" in m
        for m in errors
    ), errors
    assert checks["node_table_coverage"] is False
    with duckdb.connect(dask_runs["warehouse"], read_only=True) as con:
        assert con.execute("SELECT * FROM ici.ici_shares ORDER BY ALL").fetchall() == before
