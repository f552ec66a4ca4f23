"""Monthly (trailing window) and per-region partitions: a full backfill on the demo warehouse."""

import dagster as dg
import duckdb
import pytest

from ici_assets.runner import partition_jobs
from tests.test_e2e import png_size

MONTHLY = dg.AssetKey(["ici", "marketing_nodes", "shares_by_month"])
BY_REGION = dg.AssetKey(["ici", "marketing_nodes", "shares_by_region"])


@pytest.fixture(scope="module")
def backfill(demo_run):
    """Every partition of every partitioned job, on the warehouse the e2e run built."""
    defs, instance = demo_run["defs"], demo_run["instance"]
    results = []
    for job in partition_jobs(defs):
        for key in job.partitions_def.get_partition_keys(dynamic_partitions_store=instance):
            results.append(job.execute_in_process(instance=instance, partition_key=key, raise_on_error=False))
    return {**demo_run, "results": results}


def test_partition_sets(demo_run):
    jobs = {j.name: j for j in partition_jobs(demo_run["defs"])}
    assert set(jobs) == {"ici__marketing_nodes__shares_by_month_job", "ici__marketing_nodes__shares_by_region_job"}
    months = jobs["ici__marketing_nodes__shares_by_month_job"].partitions_def.get_partition_keys()
    assert months[0] == "2024-06-01" and months[-1] == "2025-12-01" and len(months) == 19
    regions = jobs["ici__marketing_nodes__shares_by_region_job"].partitions_def.get_partition_keys(
        dynamic_partitions_store=demo_run["instance"]
    )
    assert len(regions) == 20  # registered by the scm asset from the data


def test_backfill_fills_time_series_view(backfill):
    assert backfill["results"] and all(r.success for r in backfill["results"])
    with duckdb.connect(str(backfill["warehouse"]), read_only=True) as con:
        per_month = con.execute(
            "SELECT month, count(*) AS n, sum(share) AS total, min(period_start), max(period_end) "
            "FROM ici.ici_shares_over_time GROUP BY month ORDER BY month"
        ).fetchall()
        per_region = con.execute(
            "SELECT partition_key, count(*) FROM ici.ici_shares WHERE asset_key = ? GROUP BY 1",
            [BY_REGION.to_user_string()],
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
    assert len(per_region) == 20 and all(n == 6 for _, n in per_region)
    assert tv_truth == pytest.approx(17.50, abs=0.01)  # the demo's TV carryover keeps the article's share
    assert tv == pytest.approx(tv_truth, abs=2.0)  # stationary demo: every window near the truth


def test_over_time_chart_attached(backfill):
    last = [
        r for r in backfill["results"] if any(e.asset_key == MONTHLY for e in r.get_asset_materialization_events())
    ][-1]
    md = last.get_asset_materialization_events()[0].materialization.metadata
    width, height = png_size(md["partitions_chart"].value)
    assert width > 300 and height > 150
    values = md["partitions_chart_spec"].value["datasets"]
    assert sum(len(v) for v in values.values()) == 19 * 6  # every month x node in the chart
