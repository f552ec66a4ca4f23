"""Blocking asset checks: each fails on purpose and keeps downstream assets from running."""

import shutil

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.checks import ici as checks
from ici_assets.demo.location import build_demo_definitions

SCM = dg.AssetKey(["ici", "marketing_nodes", "scm"])
SHARES = dg.AssetKey(["ici", "marketing_nodes", "shares"])
VS = dg.AssetKey(["ici", "marketing_nodes", "ici_vs_last_click"])


def run_variant(small_base, tmp_path, project=None, mutate_sql=()):
    """On a copy of the small warehouse, with an edited graph (a parsed project) or data, run
    SCM -> shares -> comparison."""

    base_project, base_wh = small_base
    project = project or base_project
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(base_wh, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP SCHEMA IF EXISTS ici CASCADE")  # nothing published yet
        for sql in mutate_sql:
            con.execute(sql)
    defs = build_demo_definitions(project, warehouse)
    result = defs.resolve_job_def("ici_demo").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=[SCM, SHARES, VS], raise_on_error=False
    )
    return result, warehouse


def evaluations(result, asset):
    return {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["ici", "marketing_nodes", asset])
    }


def assert_blocked(result, warehouse):
    """The SCM materialised with a failed check; shares and the last-click comparison did not run."""
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert SCM in done and SHARES not in done and VS not in done
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ici'").fetchone()[0]
    assert exists == 0  # nothing published


def test_wrong_graph_fails_graph_check_and_blocks(small_base, parsed_variants, tmp_path):
    result, warehouse = run_variant(small_base, tmp_path, project=parsed_variants["wrong_graph"])
    ev = evaluations(result, "scm")
    assert not ev["graph_not_contradicted"].passed
    assert "social_clicks _||_ demand" in ev["graph_not_contradicted"].description
    # the dropped edge is ranked first among the edits, in the check's metadata and in the SCM asset's
    graph = ev["graph_not_contradicted"].metadata
    assert graph["first_edit"].value == "demand -> social_clicks"
    assert graph["suggested_edits"].value.startswith("1. add demand -> social_clicks (the data contradict ")
    assert "social_clicks _||_ demand" in graph["contradicted"].value
    scm = next(e for e in result.get_asset_materialization_events() if e.asset_key == SCM)
    edits = scm.materialization.metadata["suggested_edits"].value
    assert edits.splitlines() == graph["suggested_edits"].value.splitlines()
    assert ev["mechanisms_explain_variance"].passed and ev["node_table_coverage"].passed
    assert_blocked(result, warehouse)


def test_weak_mechanism_fails_r2_check_and_blocks(small_base, parsed_variants, tmp_path):
    result, warehouse = run_variant(small_base, tmp_path, project=parsed_variants["weak_mechanism"])
    ev = evaluations(result, "scm")
    assert not ev["mechanisms_explain_variance"].passed
    assert "social_clicks" in ev["mechanisms_explain_variance"].description
    assert ev["mechanisms_explain_variance"].metadata["r2/social_clicks"].value < 0.9
    assert_blocked(result, warehouse)


def test_missing_days_fail_coverage_check_and_block(small_base, tmp_path):
    # the node table loses three days (a broken upstream load)
    result, warehouse = run_variant(
        small_base,
        tmp_path,
        mutate_sql=["DELETE FROM main.marketing_nodes WHERE date BETWEEN DATE '2024-03-01' AND DATE '2024-03-03'"],
    )
    ev = evaluations(result, "scm")
    assert not ev["node_table_coverage"].passed
    assert "3 day(s) missing" in ev["node_table_coverage"].description
    assert ev["node_table_coverage"].metadata["missing_periods"].value == 3
    assert ev["graph_not_contradicted"].passed
    assert_blocked(result, warehouse)


def test_shares_checks_on_bad_shares():
    ok = checks.shares_checks(pd.Series([60.0, 40.0]))
    assert all(r.passed for r in ok)
    bad_sum, bad_neg = checks.shares_checks(pd.Series([70.0, 32.0, -2.0]))
    assert bad_sum.passed and not bad_neg.passed
    bad_sum, _ = checks.shares_checks(pd.Series([50.0, 49.0]))
    assert not bad_sum.passed and bad_sum.metadata["total"] == pytest.approx(99.0)


def test_check_metadata_floats_are_rounded_to_what_the_check_can_tell():
    """The UI showed total 99.99999999999999 and min_p_value 0.054460138893003204."""
    from ici_assets.checks import decisions

    shares = pd.Series([29.45, 27.0012, 25.2087, 17.9965, 0.17381, 0.17066])
    shares = shares * (99.99999999999999 / shares.sum())
    total, low = checks.shares_checks(shares)
    assert total.passed and total.metadata["total"] == 100.0 and low.metadata["min_share"] == 0.171
    markov = pd.DataFrame(
        {
            "node": ["a", "b"],
            "independent_of": ["c", "d"],
            "given": ["", "e"],
            "partial_corr": [0.01, -0.02],
            "p_value": [0.054460138893003204, 0.8123456],
            "rejected_bonferroni": [False, False],
        }
    )
    graph = checks.graph_check(checks.ChecksMeta(), markov)
    assert graph.passed and graph.metadata["min_p_value"] == 0.054
    fit = checks.mechanisms_check(checks.ChecksMeta(), {"x": "linear", "y": "root"}, {"x": 0.9921746552584593})
    assert fit.metadata == {"min_r2": 0.1, "r2/x": 0.992}
    budget = pd.DataFrame(
        {
            "node": ["tv", "social"],
            "total": 8119.898334473324,
            "recommended": [3560.0, 4559.898334473324],
            "lower_bound": [1000.0, 1000.0],
            "upper_bound": [12000.0, 12000.0],
            "current": [5114.0, 3005.898334473324],
            "expected_uplift": 976.3838585884987,
            "expected_current": 23600.0,
            "max_change": np.nan,
            "fixed": False,
            "target_marginal_return": np.nan,
            "binding": "",
            "marginal_return_recommended": [2.0, 2.0],
        }
    )
    within, uplift, _ = decisions.budget_checks(budget)
    assert within.metadata["total"] == 8120.0 and uplift.metadata["expected_uplift"] == 976.4
    for outcome in (total, low, graph, fit, within, uplift):
        digits = [len(f"{abs(v):.15g}".replace(".", "").strip("0")) for v in outcome.metadata.values()]
        assert max(d for d, v in zip(digits, outcome.metadata.values()) if isinstance(v, float)) <= 4, outcome


def test_check_results_over_partitions_name_the_failures():
    from ici_assets.checks.asset_checks import check_results
    from ici_assets.checks.ici import CheckOutcome

    outcomes = {
        "a": [CheckOutcome("shares_sum_to_100", True, "fine")],
        "b": [CheckOutcome("shares_sum_to_100", False, "Shares sum to 99.")],
    }
    (result,) = check_results(outcomes, ["shares_sum_to_100"], not_evaluated={"c": "ValueError: no rows"})
    assert not result.passed
    assert result.description.splitlines() == [
        "Failed for 1 of 3 partition(s), which were not published:",
        "b: Shares sum to 99.",
        "c: not evaluated (ValueError: no rows)",
    ]
    assert result.metadata["failed_partitions"].value == ["b"]
    (alone,) = check_results(
        {None: [CheckOutcome("shares_sum_to_100", True, "Shares sum to 100.")]}, ["shares_sum_to_100"]
    )
    assert alone.passed and alone.description == "Shares sum to 100."


def test_partition_failing_a_check_is_not_published_and_is_named(small_base, tmp_path):
    """In one run of all region partitions, the region with missing days fails its coverage check:
    it is not published, the check result names it, and the other regions are published."""
    from ici_assets.dev.runner import range_tags

    project, base_wh = small_base
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(base_wh, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DROP SCHEMA IF EXISTS ici CASCADE")
        con.execute(
            "DELETE FROM main.marketing_nodes WHERE region = 'region_02' "
            "AND date BETWEEN DATE '2024-03-01' AND DATE '2024-03-03'"
        )
        regions = [r for (r,) in con.execute("SELECT DISTINCT region FROM main.marketing_nodes ORDER BY 1").fetchall()]
    defs = build_demo_definitions(project, warehouse)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("marketing_nodes__region", regions)
    job = defs.resolve_job_def("ici__marketing_nodes__shares_by_region_job")
    result = job.execute_in_process(instance=instance, tags=range_tags(regions), raise_on_error=False)

    assert not result.success  # a blocking check failed
    ev = evaluations(result, "shares_by_region")
    assert not ev["node_table_coverage"].passed
    assert ev["node_table_coverage"].metadata["failed_partitions"].value == ["region_02"]
    assert "region_02: Node table incomplete: 3 day(s) missing" in ev["node_table_coverage"].description
    assert all(ev[name].passed for name in ev if name != "node_table_coverage")
    published = {e.partition for e in result.get_asset_materialization_events()}
    assert published == set(regions) - {"region_02"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("SELECT partition_key, count(*) FROM ici.ici_shares GROUP BY 1").fetchall()
    assert dict(stored) == dict.fromkeys(set(regions) - {"region_02"}, 6)
