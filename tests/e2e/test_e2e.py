"""End to end: raw tables -> dbt -> SCM -> ICI shares, materialised into a temporary warehouse."""

from __future__ import annotations

import base64
import re
import struct

import dagster as dg
import duckdb
import pytest

SHARES_KEY = dg.AssetKey(["ici", "marketing_nodes", "shares"])
SCM_KEY = dg.AssetKey(["ici", "marketing_nodes", "scm"])
VS_KEY = dg.AssetKey(["ici", "marketing_nodes", "ici_vs_last_click"])


def metadata_of(result, key: dg.AssetKey) -> dict:
    """The metadata of the run's single materialisation of ``key``."""
    (mat,) = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return mat.materialization.metadata


def png_size(data_uri_markdown: str) -> tuple[int, int]:
    """Width and height read from the PNG header inside a markdown data URI (decodes it)."""
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", data_uri_markdown)
    assert match, "no PNG data URI in the markdown"
    png = base64.b64decode(match.group(1), validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_every_asset_materialised(demo_run):
    result = demo_run["result"]
    assert result.success
    keys = {e.asset_key for e in result.get_asset_materialization_events() if e.asset_key}
    for expected in (
        dg.AssetKey(["raw", "orders"]),
        dg.AssetKey(["stg_orders"]),
        dg.AssetKey(["marketing_nodes"]),
        dg.AssetKey(["last_click_revenue"]),
        SCM_KEY,
        SHARES_KEY,
    ):
        assert expected in keys, f"{expected} not materialised; got {sorted(k.to_user_string() for k in keys)}"


def test_shares_match_ground_truth(demo_run):
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        rows = con.execute(
            """SELECT s.node, s.share, s.share_low, s.share_high, t.share AS truth, s.code_version, s.data_version,
                      s.materialized_at, s.ici
               FROM ici.ici_shares s JOIN raw.ground_truth_ici t USING (node)
               WHERE s.model = 'marketing_nodes'"""
        ).df()
        n_nodes = con.execute("SELECT count(*) FROM raw.ground_truth_ici").fetchone()[0]
    assert len(rows) == n_nodes == 6
    assert rows["share"].sum() == pytest.approx(100.0, abs=1e-9)
    worst = (rows["share"] - rows["truth"]).abs().max()
    assert worst <= 1.5, rows[["node", "share", "truth"]]
    # bootstrap intervals are filled and bracket the point estimate
    assert rows["share_low"].notna().all() and rows["share_high"].notna().all()
    assert (rows["share_low"] <= rows["share"]).all() and (rows["share"] <= rows["share_high"]).all()
    assert rows["code_version"].str.len().min() > 0 and rows["data_version"].nunique() == 1
    assert (rows["ici"] > 0).all()


def test_history_has_the_same_rows(demo_run):
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        order = "ORDER BY asset_key, calibrated, node"  # a calibrated model has two rows per node
        cur = con.execute(f"SELECT node, share FROM ici.ici_shares {order}").fetchall()
        hist = con.execute(f"SELECT node, share FROM ici.ici_shares_history {order}").fetchall()
        run_ids = con.execute("SELECT DISTINCT run_id FROM ici.ici_shares_history").fetchall()
    assert cur == hist
    assert run_ids == [(demo_run["result"].run_id,)]


def test_dbt_tests_ran_as_asset_checks(demo_run):
    evaluations = demo_run["result"].get_asset_check_evaluations()
    assert len(evaluations) >= 10
    by_asset = {e.asset_key for e in evaluations}
    assert dg.AssetKey(["marketing_nodes"]) in by_asset
    failed = [e.check_name for e in evaluations if not e.passed]
    assert not failed, failed
    names = {e.check_name for e in evaluations}
    assert any("unique_combination" in n for n in names), names
    assert any("accepted_values" in n for n in names), names


def test_chart_metadata_present_and_png_decodes(demo_run):
    md = metadata_of(demo_run["result"], SHARES_KEY)
    width, height = png_size(md["shares_chart"].value)
    assert width > 200 and height > 100
    width, height = png_size(md["contributions_chart"].value)
    assert width > 200 and height > 100
    assert not any(k.startswith("ici_vs_last_click") for k in md)  # that chart belongs to its own asset
    width, height = png_size(metadata_of(demo_run["result"], VS_KEY)["ici_vs_last_click_chart"].value)
    assert width > 200 and height > 100
    spec = md["shares_chart_spec"].value
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert isinstance(md["shares"], dg.TableMetadataValue) and len(md["shares"].records) == 6
    floats = {k: v.value for k, v in md.items() if k.startswith("share/")}
    assert set(floats) == {
        f"share/{n}" for n in ("demand", "tv_adstock", "social_spend", "organic_clicks", "social_clicks", "revenue")
    }
    # each float is rounded to its interval's precision (0.05 points at most for shares of a few points' interval)
    assert sum(floats.values()) == pytest.approx(100.0, abs=0.25)


def test_last_click_comparison_credits_tv_nothing(demo_run):
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        rows = con.execute("SELECT node, ici_share, last_click_share FROM ici.ici_vs_last_click").fetchall()
    lc = {node: last_click for node, _, last_click in rows}
    ici = {node: share for node, share, _ in rows}
    assert lc["tv_adstock"] == 0 and lc["demand"] == 0
    assert lc["organic_clicks"] + lc["social_clicks"] == pytest.approx(100.0, abs=1e-9)
    assert ici["tv_adstock"] > 10  # the point of the product: TV matters although nobody clicks it


def test_lineage_raw_to_shares(demo_run):
    graph = demo_run["defs"].resolve_asset_graph()
    up = graph.get(SHARES_KEY).parent_keys
    assert SCM_KEY in up
    assert dg.AssetKey(["marketing_nodes"]) in graph.get(SCM_KEY).parent_keys
    assert dg.AssetKey(["stg_orders"]) in graph.get(dg.AssetKey(["marketing_nodes"])).parent_keys
    assert dg.AssetKey(["raw", "orders"]) in graph.get(dg.AssetKey(["stg_orders"])).parent_keys


def test_ici_checks_pass_and_comparison_published(demo_run):
    evals = {
        (e.asset_key.path[-1], e.check_name): e.passed
        for e in demo_run["result"].get_asset_check_evaluations()
        if e.asset_key.path[:2] == ["ici", "marketing_nodes"]
    }
    assert evals == {
        ("scm", "mechanisms_explain_variance"): True,
        ("scm", "graph_not_contradicted"): True,
        ("scm", "node_table_coverage"): True,
        ("shares", "shares_sum_to_100"): True,
        ("shares", "no_share_below_minus_one"): True,
        ("shares", "shares_stable"): True,  # a first materialisation: nothing to compare with
    }
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        cmp = con.execute("SELECT node, ici_share, last_click_share FROM ici.ici_vs_last_click ORDER BY node").df()
    assert len(cmp) == 6
    assert cmp["last_click_share"].sum() == pytest.approx(100.0, abs=1e-6)
    sentence = metadata_of(demo_run["result"], VS_KEY)["summary"].value
    assert "tv_adstock" in sentence or "demand" in sentence
    assert "last click" in sentence.lower()


WEEKLY_SCM = dg.AssetKey(["ici", "weekly_nodes", "scm"])


def test_weekly_model_calibrated_to_its_lift_test_against_the_truth(demo_run):
    """weekly_nodes: TV spend follows hidden demand; its SCM reads raw.lift_tests through the dbt model lift_tests
    (upstream of the SCM asset), experiments_agree passes, the calibrated return and shares match the truth in
    raw.ground_truth_calibration while the least-squares ones, published beside them, overstate TV."""
    graph = demo_run["defs"].resolve_asset_graph()
    assert dg.AssetKey(["lift_tests"]) in graph.get(WEEKLY_SCM).parent_keys
    assert dg.AssetKey(["raw", "lift_tests"]) in graph.get(dg.AssetKey(["lift_tests"])).parent_keys
    (check,) = [
        e
        for e in demo_run["result"].get_asset_check_evaluations()
        if e.asset_key == WEEKLY_SCM and e.check_name == "experiments_agree"
    ]
    assert check.passed
    assert check.metadata["tv_geo_holdout_2025_03/z_after"].value == 0.0
    assert check.metadata["tv_geo_holdout_2025_03/z_before"].value > 3.0
    summary = metadata_of(demo_run["result"], WEEKLY_SCM)["summary"].value
    assert "Calibrated to 1 lift test(s): `tv_spend` returns 1.00 EUR of revenue per EUR" in summary
    assert "uncalibrated 1.35" in summary
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        shares = con.execute(
            "SELECT s.node, s.share, s.calibrated, t.share AS truth FROM ici.ici_shares s "
            "JOIN raw.ground_truth_calibration t USING (node) WHERE s.model = 'weekly_nodes'"
        ).df()
        returns = con.execute(
            "SELECT r.node, r.roi, r.calibrated, t.true_return FROM ici.channel_returns r "
            "JOIN raw.ground_truth_calibration t USING (node) WHERE r.model = 'weekly_nodes'"
        ).df()
        flags = con.execute(
            "SELECT model, list(DISTINCT calibrated ORDER BY calibrated) FROM ici.spend_response GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert flags == [("media_nodes", [False]), ("weekly_nodes", [False, True])]
    tv = returns.set_index(["node", "calibrated"])
    assert tv.loc[("tv_spend", True), "roi"] == pytest.approx(tv.loc[("tv_spend", True), "true_return"], rel=0.10)
    assert tv.loc[("tv_spend", False), "roi"] >= 1.3  # the uncalibrated return, reported beside it
    by = shares.set_index(["node", "calibrated"])
    assert by.xs(True, level="calibrated")["share"].sum() == pytest.approx(100.0, abs=1e-6)
    assert by.xs(False, level="calibrated")["share"].sum() == pytest.approx(100.0, abs=1e-6)
    assert abs(by.loc[("tv_spend", True), "share"] - by.loc[("tv_spend", True), "truth"]) < 1.5
    assert by.loc[("tv_spend", False), "share"] - by.loc[("tv_spend", False), "truth"] > 10


def test_definitions_are_loadable(demo_run):
    """What `dagster definitions validate` and the webserver check (execute_in_process does not)."""
    dg.Definitions.validate_loadable(demo_run["defs"])
