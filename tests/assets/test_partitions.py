"""Monthly (trailing window) and per-region partitions: each asset's whole backfill is one run.

Both partitioned assets carry ``BackfillPolicy.single_run()``: a backfill of all their partitions
is one run whose step reads the node table once and fans the partitions out to the compute pool
(local worker processes here). Its rows must be exactly those of a run of one partition alone.
"""

import dagster as dg
import duckdb
import pytest

from ici_assets.assets.fanout import logged_worker_pids
from ici_assets.dev.runner import partition_jobs, range_tags
from tests.e2e.test_e2e import png_size

MONTHLY = dg.AssetKey(["ici", "marketing_nodes", "shares_by_month"])
BY_REGION = dg.AssetKey(["ici", "marketing_nodes", "shares_by_region"])
FLOATS = "node, ici, share, share_low, share_high, data_version, code_version, n_rows, period_start, period_end"


@pytest.fixture(scope="module")
def backfill(demo_backfill):
    """Every partition of each partitioned job in one run per job (session fixture, shared with the decisions)."""
    return demo_backfill


def run_of(backfill, asset_key):
    return next(v for k, v in backfill["runs"].items() if k.startswith("__".join(asset_key.path)))


def history(warehouse, run_id, partition_key):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"SELECT {FLOATS} FROM ici.ici_shares_history WHERE run_id = ? AND partition_key = ? ORDER BY node",
            [run_id, partition_key],
        ).fetchall()


def test_partition_sets_and_single_run_policy(demo_run):
    jobs = {j.name: j for j in partition_jobs(demo_run["defs"])}
    assert set(jobs) == {
        "ici__marketing_nodes__shares_by_month_job",
        "ici__marketing_nodes__shares_by_region_job",
        "ici__media_nodes__change_attribution_job",
    }
    months = jobs["ici__marketing_nodes__shares_by_month_job"].partitions_def.get_partition_keys()
    assert months[0] == "2024-06-01" and months[-1] == "2025-12-01" and len(months) == 19
    regions = jobs["ici__marketing_nodes__shares_by_region_job"].partitions_def.get_partition_keys(
        dynamic_partitions_store=demo_run["instance"]
    )
    assert len(regions) == 20  # registered by the scm asset from the data
    graph = demo_run["defs"].resolve_asset_graph()
    for key in (MONTHLY, BY_REGION):
        assert graph.get(key).backfill_policy == dg.BackfillPolicy.single_run()


def test_one_run_materialises_every_partition_once(backfill):
    for asset_key in (MONTHLY, BY_REGION):
        keys, result = run_of(backfill, asset_key)
        assert result.success
        mats = [e for e in result.get_asset_materialization_events() if e.asset_key == asset_key]
        assert sorted(e.partition for e in mats) == sorted(keys)  # each partition once, in this one run
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks == dict.fromkeys(
            [
                "mechanisms_explain_variance",
                "graph_not_contradicted",
                "node_table_coverage",
                "shares_sum_to_100",
                "no_share_below_minus_one",
                "shares_stable",  # a first backfill: nothing to compare with
            ],
            True,
        )
        last = mats[-1].materialization.metadata
        assert last["step/partitions"].value == str(len(keys))  # counts are text metadata (no Plots line)
        assert "step/worker_pids" not in last  # process ids are no result: the step logs them
        assert len(logged_worker_pids(backfill["instance"], result.run_id)) == 2  # fanned out to two local workers
    with duckdb.connect(str(backfill["warehouse"]), read_only=True) as con:
        groups = con.execute(
            "SELECT asset_key, partition_key, count(*), count(DISTINCT node), count(DISTINCT run_id) "
            "FROM ici.ici_shares WHERE partition_key IS NOT NULL GROUP BY ALL"
        ).fetchall()
    expected = {(a.to_user_string(), k) for a in (MONTHLY, BY_REGION) for k in run_of(backfill, a)[0]}
    assert {(a, p) for a, p, *_ in groups} == expected
    assert all(n == 6 and nodes == 6 and runs == 1 for *_, n, nodes, runs in groups)


@pytest.mark.parametrize("asset_key, index", [(MONTHLY, 0), (MONTHLY, -1), (BY_REGION, 7)])
def test_backfill_rows_are_those_of_the_partition_alone(backfill, asset_key, index):
    """Float bits, versions and period of one partition: in the 19- or 20-partition run, and run alone."""
    keys, result = run_of(backfill, asset_key)
    job = next(j for j in partition_jobs(backfill["defs"]) if j.name.startswith("__".join(asset_key.path)))
    alone = job.execute_in_process(instance=backfill["instance"], partition_key=keys[index])
    assert alone.success
    in_backfill = history(backfill["warehouse"], result.run_id, keys[index])
    assert len(in_backfill) == 6
    assert history(backfill["warehouse"], alone.run_id, keys[index]) == in_backfill


def test_backfill_fills_time_series_view(backfill):
    with duckdb.connect(str(backfill["warehouse"]), read_only=True) as con:
        per_month = con.execute(
            "SELECT month, count(*) AS n, sum(share) AS total, min(period_start), max(period_end) "
            "FROM ici.ici_shares_over_time GROUP BY month ORDER BY month"
        ).fetchall()
        tv, tv_truth = con.execute(
            "SELECT avg(s.share), any_value(t.share) FROM ici.ici_shares_over_time s "
            "JOIN raw.ground_truth_ici t USING (node) WHERE node = 'tv_adstock'"
        ).fetchone()
    assert len(per_month) == 19
    for month, n, total, start, end in per_month:
        assert n == 6 and total == pytest.approx(100.0, abs=1e-9)
        # trailing six-month window ending with the partition's month
        assert end.strftime("%Y-%m") == str(month)[:7]
        assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == 5
    assert tv_truth == pytest.approx(17.50, abs=0.01)  # the demo's TV carryover keeps the article's share
    assert tv == pytest.approx(tv_truth, abs=2.0)  # stationary demo: every window near the truth


def test_partitions_chart_attached_once_per_run(backfill):
    for asset_key, kind in ((MONTHLY, "month"), (BY_REGION, "region")):
        keys, result = run_of(backfill, asset_key)
        with_chart = [
            e.materialization.metadata
            for e in result.get_asset_materialization_events()
            if "partitions_chart" in e.materialization.metadata
        ]
        assert len(with_chart) == 1, kind  # one chart for the run, not one per partition
        width, height = png_size(with_chart[0]["partitions_chart"].value)
        assert width > 300 and height > 150
        values = with_chart[0]["partitions_chart_spec"].value["datasets"]
        # every partition x node in the chart (the over-time chart states the target's own noise in its subtitle)
        assert sum(len(v) for v in values.values()) >= len(keys) * 5


def test_publishes_in_batches_and_reports_the_run_once(backfill, monkeypatch):
    """20 regions published 5 at a time: 4 transactions, each partition once, the run's chart once."""
    from ici_assets.assets import fanout

    monkeypatch.setattr(fanout, "PUBLISH_BATCH", 5)
    keys, _ = run_of(backfill, BY_REGION)
    job = next(j for j in partition_jobs(backfill["defs"]) if j.name.startswith("__".join(BY_REGION.path)))
    result = job.execute_in_process(instance=backfill["instance"], tags=range_tags(keys))
    assert result.success
    messages = [e.user_message for e in backfill["instance"].all_logs(result.run_id) if e.dagster_event is None]
    published = [m for m in messages if m.startswith("Published ")]
    assert published == [f"Published 5 partition(s) in one transaction ({n} so far)" for n in (5, 10, 15, 20)]
    mats = result.get_asset_materialization_events()
    assert sorted(e.partition for e in mats) == sorted(keys)
    assert sum("partitions_chart" in e.materialization.metadata for e in mats) == 1
    with duckdb.connect(str(backfill["warehouse"]), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM ici.ici_shares_history WHERE run_id = ?", [result.run_id]).fetchone()
    assert rows == (6 * len(keys),)
