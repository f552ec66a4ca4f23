"""A backfill as the UI launches it, beside another run, on one embedded DuckDB file.

The backfill of both partitioned assets (all 19 months, all 20 dynamic region partitions) is
requested through Dagster's GraphQL API (``launchPartitionBackfill``, what the UI's "Materialize
all" sends), and Dagster's own daemon plans and launches it: with ``BackfillPolicy.single_run()``
that is one run per asset. A single-partition run of one region is launched from the CLI at the
same time. All three are separate processes writing the same file; the instance's
``duckdb_warehouse`` pool (one slot) lets one writer step run at a time. Afterwards every
partition has exactly one current set of rows and every run's rows are in the history once.
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import code_location

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

#: Runs start as soon as the daemon submits them (no queue to wait for).
RUN_COORDINATOR = "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
MONTHLY = ["ici", "marketing_nodes", "shares_by_month"]
BY_REGION = ["ici", "marketing_nodes", "shares_by_region"]
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
TIMEOUT_S = 300
#: Each run executes its step in the run's own process (fewer processes to start on a small machine;
#: Dagster's concurrency pool applies to the in-process executor as to the multiprocess one).
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@pytest.fixture(scope="module")
def backfill(tmp_path_factory, demo_run, dbt_project_copy):
    tmp = tmp_path_factory.mktemp("backfill")
    warehouse = tmp / "warehouse.duckdb"
    shutil.copy(demo_run["warehouse"], warehouse)  # 20 regions x 730 days, dbt models built
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP SCHEMA ici CASCADE")  # nothing published yet
        regions = [r for (r,) in con.execute("SELECT DISTINCT region FROM main.marketing_nodes ORDER BY 1").fetchall()]
    entry, env = code_location(tmp, dbt_project_copy, warehouse, RUN_COORDINATOR)
    home = env["DAGSTER_HOME"]
    with dg.DagsterInstance.from_config(home) as instance:
        instance.add_dynamic_partitions("marketing_nodes__region", regions)  # as the scm asset does
    bin_dir = Path(sys.executable).parent

    params = {
        "assetSelection": [{"path": MONTHLY}, {"path": BY_REGION}],
        "allPartitions": True,
        "runConfigData": json.dumps(IN_PROCESS),
    }
    out = tmp / "launch.json"
    launched = subprocess.run(
        [str(bin_dir / "dagster-graphql"), "-f", str(entry), "-t", LAUNCH, "-v", json.dumps({"params": params})]
        + ["-o", str(out)],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    answer = json.loads(out.read_text())["data"]["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    with (tmp / "daemon.log").open("wb") as daemon_log, (tmp / "cli.log").open("wb") as cli_log:
        daemon = subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-f", str(entry)],
            env=env,
            cwd=tmp,
            stdout=daemon_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        cli = subprocess.Popen(
            [str(bin_dir / "dagster"), "asset", "materialize", "-f", str(entry)]
            + ["--select", "/".join(BY_REGION), "--partition", regions[3], "--config-json", json.dumps(IN_PROCESS)],
            env=env,
            cwd=tmp,
            stdout=cli_log,
            stderr=subprocess.STDOUT,
        )
        try:
            with dg.DagsterInstance.from_config(home) as instance:
                runs = _wait_for_backfill(instance, answer["backfillId"], tmp)
                cli_rc = cli.wait(timeout=TIMEOUT_S)
                records = {
                    r.run_id: (r, [e for e in instance.all_logs(r.run_id) if e.dagster_event])
                    for r in instance.get_runs()
                }
                pool = instance.event_log_storage.get_concurrency_info("duckdb_warehouse")
        finally:
            for proc in (daemon, cli):
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    assert cli_rc == 0, (tmp / "cli.log").read_text()[-3000:]
    return {
        "runs": runs,
        "records": records,
        "regions": regions,
        "warehouse": warehouse,
        "pool": pool,
        "months": dg.MonthlyPartitionsDefinition(start_date="2024-06-01", end_date="2026-01-01").get_partition_keys(),
    }


def _wait_for_backfill(instance: dg.DagsterInstance, backfill_id: str, tmp: Path) -> list[dg.DagsterRun]:
    """The backfill's runs, once it has two and all of them have finished."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        if len(runs) >= 2 and all(r.is_finished for r in runs):
            return runs
        time.sleep(1)
    pytest.fail(f"backfill {backfill_id} not done in {TIMEOUT_S} s:\n" + (tmp / "daemon.log").read_text()[-4000:])


def test_backfill_is_one_run_per_asset_over_all_partitions(backfill):
    runs = backfill["runs"]
    assert len(runs) == 2 and all(r.is_success for r in runs), [(r.run_id, r.status) for r in runs]
    by_asset = {tuple(next(iter(r.asset_selection)).path): r for r in runs}
    assert set(by_asset) == {tuple(MONTHLY), tuple(BY_REGION)}
    region_run, month_run = by_asset[tuple(BY_REGION)], by_asset[tuple(MONTHLY)]
    # the dynamic partitions: one range over all 20 registered regions
    assert region_run.tags["dagster/asset_partition_range_start"] == backfill["regions"][0]
    assert region_run.tags["dagster/asset_partition_range_end"] == backfill["regions"][-1]
    assert month_run.tags["dagster/asset_partition_range_start"] == "2024-06-01"
    assert month_run.tags["dagster/asset_partition_range_end"] == "2025-12-01"
    for run, keys in ((region_run, backfill["regions"]), (month_run, backfill["months"])):
        _, events = backfill["records"][run.run_id]
        materialised = [e.dagster_event.partition for e in events if e.dagster_event.is_step_materialization]
        assert sorted(materialised) == sorted(keys)


def test_no_row_lost_or_doubled(backfill):
    with duckdb.connect(str(backfill["warehouse"]), read_only=True) as con:
        current = con.execute(
            "SELECT asset_key, partition_key, count(*), count(DISTINCT node), count(DISTINCT run_id) "
            "FROM ici.ici_shares GROUP BY ALL"
        ).fetchall()
        history = con.execute(
            "SELECT run_id, partition_key, count(*) FROM ici.ici_shares_history GROUP BY ALL"
        ).fetchall()
    expected = {("/".join(MONTHLY), m) for m in backfill["months"]} | {
        ("/".join(BY_REGION), r) for r in backfill["regions"]
    }
    assert {(a, p) for a, p, *_ in current} == expected
    assert all(n == 6 and nodes == 6 and runs == 1 for *_, n, nodes, runs in current)
    # every run's partitions in the history once: 39 from the backfill, 1 from the CLI run
    assert all(n == 6 for *_, n in history)
    assert len(history) == len(expected) + 1
    assert sum(p == backfill["regions"][3] for _, p, _ in history) == 2


def _interval(events, start_type, end_types):
    start = next(e.timestamp for e in events if e.dagster_event.event_type == start_type)
    end = next(e.timestamp for e in events if e.dagster_event.event_type in end_types)
    return start, end


def test_runs_overlapped_but_writer_steps_did_not(backfill):
    records = [events for _, events in backfill["records"].values()]
    assert len(records) == 3
    success = {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE}
    runs = sorted(_interval(ev, dg.DagsterEventType.RUN_START, success) for ev in records)
    step_end = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    steps = sorted(_interval(ev, dg.DagsterEventType.STEP_START, step_end) for ev in records)
    assert any(b[0] < a[1] for a, b in zip(runs, runs[1:]))  # the runs did run at the same time ...
    assert [(a, b) for a, b in zip(steps, steps[1:]) if b[0] < a[1]] == []  # ... their writer steps did not
    pool = backfill["pool"]
    assert pool.slot_count == 1 and pool.active_slot_count == 0 and pool.pending_step_count == 0
