"""Running unattended: a day of raw data lands, dbt rebuilds the node table, and the daemon materialises the
affected ICI assets with no launch; after a node table that fails a blocking dbt test, nothing downstream runs.

The code location is served with its daemon (as ``make dev`` does), its automation sensor evaluated every 5 s.
Only dbt is launched here (as a team's own dbt schedule would); every ICI run is the sensor's.
"""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import code_location, model_chain

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

RUN_COORDINATOR = "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
ENTRY = """\
import os
from ici_assets.demo.location import build_demo_definitions

defs = build_demo_definitions(
    os.environ["ICI_DBT_PROJECT_DIR"], os.environ["ICI_WAREHOUSE"], automation={"sensor_interval_seconds": 5}
)
"""
MODEL = "marketing_nodes"
SCM, SHARES, VS = (dg.AssetKey(["ici", MODEL, n]) for n in ("scm", "shares", "ici_vs_last_click"))
BY_REGION = dg.AssetKey(["ici", MODEL, "shares_by_region"])
TIMEOUT_S = 240
#: A day copied from the last one, one day later (orders get new ids): what a nightly load appends.
APPEND_A_DAY = [
    "INSERT INTO raw.ad_spend SELECT date + 1, region, channel, campaign, spend, impressions FROM raw.ad_spend "
    "WHERE date = (SELECT max(date) FROM raw.ad_spend)",
    "INSERT INTO raw.web_sessions SELECT date + 1, region, source, medium, sessions FROM raw.web_sessions "
    "WHERE date = (SELECT max(date) FROM raw.web_sessions)",
    "INSERT INTO raw.orders SELECT order_id + (SELECT max(order_id) FROM raw.orders), ordered_at + INTERVAL 1 DAY, "
    "region, revenue, last_click_channel FROM raw.orders "
    "WHERE ordered_at::DATE = (SELECT max(ordered_at)::DATE FROM raw.orders)",
    "INSERT INTO raw.demand_index SELECT date + 1, region, search_interest FROM raw.demand_index "
    "WHERE date = (SELECT max(date) FROM raw.demand_index)",
]


def period_end(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (end,) = con.execute(
            "SELECT DISTINCT period_end::VARCHAR FROM ici.ici_shares WHERE asset_key = ?", [SHARES.to_user_string()]
        ).fetchone()
    return end


def automation_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    return [r for r in instance.get_runs() if r.tags.get("dagster/from_automation_condition") == "true"]


def wait_for(instance: dg.DagsterInstance, done, what: str, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(1)
    pytest.fail(f"{what} not seen in {TIMEOUT_S} s:\n" + log.read_text()[-4000:])


def materialised_after(instance: dg.DagsterInstance, key: dg.AssetKey, after: float) -> bool:
    event = instance.get_latest_materialization_event(key)
    return event is not None and event.timestamp > after


def test_the_daemon_refreshes_the_shares_after_new_data_and_nothing_after_a_failed_check(tmp_path, small_base):
    import shutil

    from ici_assets.demo.location import build_demo_definitions
    from ici_assets.dev.launch import CodeLocationServer

    project, base = small_base  # 5 regions x 200 days, every asset materialised once (in another instance)
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(base, warehouse)
    end_before = period_end(warehouse)
    defs = build_demo_definitions(project, warehouse)
    dbt_keys = [k.path for k in model_chain(defs, MODEL) if k.path[0] not in ("raw", "ici")]
    entry, env = code_location(tmp_path, project, warehouse, RUN_COORDINATOR)
    entry.write_text(ENTRY)
    log = tmp_path / "server.log"

    with log.open("wb") as out, CodeLocationServer("-f", str(entry), cwd=tmp_path, env=env, log=out) as server:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            # the nightly load appends a day; the team's dbt job rebuilds the node table
            with duckdb.connect(str(warehouse)) as con:
                for sql in APPEND_A_DAY:
                    con.execute(sql)
            started = time.time()
            dbt_run = server.run("ici_demo", asset_selection=dbt_keys)
            assert dbt_run.success, log.read_text()[-3000:]

            wait_for(
                instance,
                lambda: all(materialised_after(instance, k, started) for k in (SCM, SHARES, VS)),
                "the daemon's materialisation of scm, shares and ici_vs_last_click",
                log,
            )
            runs = automation_runs(instance)
            assert runs and all(r.tags.get("dagster/sensor_name", "").startswith("ici_automation") for r in runs)
            # every run that materialised an ICI asset is the sensor's (or a backfill it emitted), none ours
            ici_runs = [r for r in instance.get_runs() if any(k.path[0] == "ici" for k in r.asset_selection or ())]
            assert ici_runs and dbt_run.run_id not in {r.run_id for r in ici_runs}
            assert all(r in runs or "dagster/backfill" in r.tags for r in ici_runs)
            shares_runs = [r for r in runs if SHARES in (r.asset_selection or set())]
            assert shares_runs and shares_runs[0].asset_selection >= {SCM, SHARES, VS}  # the chain in one run
            wait_for(instance, lambda: all(r.is_finished for r in automation_runs(instance)), "finished runs", log)
            assert all(r.is_success for r in automation_runs(instance)), log.read_text()[-3000:]
            assert period_end(warehouse) > end_before  # the new day is in the published shares
            # the region partitions are registered by the scm, so they are newly missing: the sensor fills them
            wait_for(
                instance,
                lambda: len(instance.get_materialized_partitions(BY_REGION)) == 5,
                "the daemon's region partitions",
                log,
            )

            # a node table that fails a blocking dbt test (a region's demand missing for a day: not_null)
            with duckdb.connect(str(warehouse)) as con:
                con.execute(
                    "DELETE FROM raw.demand_index WHERE region = 'region_02' "
                    "AND date = (SELECT max(date) FROM raw.demand_index)"
                )
            wait_for(instance, lambda: all(r.is_finished for r in automation_runs(instance)), "finished runs", log)
            before = {r.run_id for r in automation_runs(instance)}
            failed_at = time.time()
            bad = server.run("ici_demo", asset_selection=dbt_keys)
            assert not bad.success
            checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [dg.AssetCheckKey(dg.AssetKey([MODEL]), "not_null_marketing_nodes_demand")]
            )
            (execution,) = checks.values()
            assert execution.evaluation and not execution.evaluation.passed  # the blocking dbt test failed
            assert materialised_after(instance, dg.AssetKey([MODEL]), failed_at)  # ... on a rebuilt node table
            time.sleep(15)  # three sensor ticks
            new = [r for r in automation_runs(instance) if r.run_id not in before]
            assert new == [], [(r.run_id, sorted(k.to_user_string() for k in r.asset_selection or ())) for r in new]
            assert not materialised_after(instance, SCM, failed_at)
