"""The decision assets of the demo's media model, materialised, against the truth stored in raw.

spend_response and budget run with the unpartitioned demo job (session fixture ``demo_run``);
change_attribution is a monthly partitioned asset, backfilled in one run (``demo_backfill``).
"""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from ici_assets.demo.media import (
    CTR_DROP_MONTH,
    TV_FLIGHT_MONTH,
    ground_truth_change,
    scaled_best_split,
    scaled_revenue,
)
from tests.e2e.test_e2e import metadata_of, png_size

RESPONSE = dg.AssetKey(["ici", "media_nodes", "spend_response"])
BUDGET = dg.AssetKey(["ici", "media_nodes", "budget"])
CHANGE = dg.AssetKey(["ici", "media_nodes", "change_attribution"])


def query(warehouse, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()


def test_truth_of_the_media_demo() -> None:
    """The stored truth: each month's contributions add up to its change; the click-through month is the
    social_clicks mechanism alone (about -17 %), the TV flight month TV's distribution plus the season."""
    truth = ground_truth_change()
    sums = truth.groupby("period").agg(total=("contribution", "sum"), change=("change", "first"))
    np.testing.assert_allclose(sums["total"], sums["change"], rtol=1e-12, atol=1e-9)
    ctr = truth[truth["period"] == pd.Timestamp(CTR_DROP_MONTH + "-01").date()].set_index("node")["contribution"]
    assert ctr["social_clicks"] == pytest.approx(-3646.0, abs=1.0) and ctr["social_clicks"] / ctr.sum() > 0.97
    tv = truth[truth["period"] == pd.Timestamp(TV_FLIGHT_MONTH + "-01").date()].set_index("node")["contribution"]
    assert tv["tv_spend"] == pytest.approx(654.6, abs=1.0) and tv.drop(["tv_spend", "demand"]).abs().max() < 1e-9


def test_decision_assets_materialised_with_charts_and_checks(demo_run) -> None:
    result = demo_run["result"]
    assert result.success
    checks = {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    for name in ("response_is_finite", "monte_carlo_error_small"):
        assert checks[(RESPONSE, name)]
    for name in ("allocation_within_bounds", "uplift_not_negative", "allocation_respects_constraints"):
        assert checks[(BUDGET, name)]
    for key, chart in ((RESPONSE, "response_chart"), (BUDGET, "budget_chart")):
        metadata = metadata_of(result, key)
        width, height = png_size(metadata[chart].value)
        assert width > 300 and height > 100
        assert metadata[f"{chart}_spec"].value["$schema"].startswith("https://vega.github.io/schema/vega-lite")
    assert "Diminishing returns" in metadata_of(result, BUDGET)["note"].value


def test_spend_response_within_3_percent_of_the_true_curve(demo_run) -> None:
    rows = query(
        demo_run["warehouse"],
        """SELECT r.node, r.level, r.expected_target, r.low, r.high, r.marginal_return, r.incremental_return,
                  r.method, r.code_version, r.data_version, t.expected_revenue AS truth
           FROM ici.spend_response r JOIN raw.ground_truth_response t USING (node, level)
           WHERE r.model = 'media_nodes' ORDER BY r.node, r.level""",
    )
    assert len(rows) == 18  # 9 levels x 2 spend nodes, every one on the truth's grid
    error = (rows["expected_target"] / rows["truth"] - 1).abs()
    assert error.max() < 0.03, rows.assign(error=error)
    assert ((rows["low"] <= rows["expected_target"]) & (rows["expected_target"] <= rows["high"])).all()
    # learned Hill saturation on both spend nodes (the column meta), the clicks linear in it: exact, no simulation
    assert (rows["method"] == "closed_form_transforms").all() and rows["data_version"].nunique() == 1
    for _, curve in rows.groupby("node"):  # diminishing returns: positive and falling increments
        increments = curve["incremental_return"].to_numpy()[1:]
        assert (increments > 0).all() and (np.diff(increments) < 0).all()
    history = query(
        demo_run["warehouse"],
        "SELECT node, level, expected_target FROM ici.spend_response_history WHERE model = 'media_nodes'",
    )
    pd.testing.assert_frame_equal(
        history.sort_values(["node", "level"]).reset_index(drop=True),
        rows[["node", "level", "expected_target"]].reset_index(drop=True),
    )


def test_channel_returns_cover_the_true_roi(demo_run) -> None:
    """ici.channel_returns: the true ROI of each channel (raw.ground_truth_returns, from the generator's mechanisms
    on the generated rows) inside the published 95 % interval; marginal ROI the response asset's own numbers."""
    wh = demo_run["warehouse"]
    rows = query(
        wh,
        """SELECT c.*, t.roi AS true_roi, t.spend AS true_spend FROM ici.channel_returns c
           JOIN raw.ground_truth_returns t USING (node) WHERE c.model = 'media_nodes' ORDER BY c.node""",
    ).set_index("node")
    assert list(rows.index) == ["social_spend", "tv_spend"]
    for node, row in rows.iterrows():
        assert row["roi_low"] < row["true_roi"] < row["roi_high"], (node, row[["roi", "roi_low", "roi_high"]])
        assert row["spend"] == pytest.approx(row["true_spend"], rel=1e-9)  # spend over the period, EUR
        assert row["incremental_target"] == pytest.approx(row["roi"] * row["spend"], rel=1e-9)
    assert rows["spend_share"].sum() == pytest.approx(100.0)
    current = query(
        wh,
        """SELECT DISTINCT node, current_marginal_return, current_marginal_low, current_marginal_high
           FROM ici.spend_response WHERE model = 'media_nodes' ORDER BY node""",
    ).set_index("node")
    np.testing.assert_array_equal(rows["marginal_roi"], current["current_marginal_return"])
    np.testing.assert_array_equal(rows["marginal_roi_high"], current["current_marginal_high"])
    assert (rows["marginal_roi"] < rows["roi"]).all()  # diminishing returns: the last euro earns less than the mean
    history = query(wh, "SELECT count(*) AS n FROM ici.channel_returns_history WHERE model = 'media_nodes'")
    assert history["n"].iloc[0] == 2
    metadata = metadata_of(demo_run["result"], RESPONSE)
    assert metadata["roi/tv_spend"].value == pytest.approx(rows.loc["tv_spend", "roi"], rel=0.01)


def test_budget_recommends_the_true_best_split(demo_run) -> None:
    rows = query(demo_run["warehouse"], "SELECT * FROM ici.budget_allocation WHERE model = 'media_nodes'")
    rows = rows.set_index("node")
    total = rows["total"].iloc[0]
    assert rows["recommended"].sum() == pytest.approx(total, rel=1e-9)
    assert total == pytest.approx(rows["current"].sum(), rel=1e-12)  # total: current (a reallocation)
    bounds = {n: (rows.loc[n, "lower_bound"], rows.loc[n, "upper_bound"]) for n in rows.index}
    assert bounds == {"tv_spend": (1000.0, 12000.0), "social_spend": (500.0, 8000.0)}
    best = scaled_best_split(total, bounds)  # every region-day's spend scaled, as the learned transforms read a level
    for node, value in best.items():
        assert rows.loc[node, "recommended"] == pytest.approx(value, abs=0.05 * total)
    true_uplift = scaled_revenue(best) - scaled_revenue(dict(rows["current"]))
    uplift = rows["expected_uplift"].iloc[0]
    assert 0 < rows["uplift_low"].iloc[0] < uplift < rows["uplift_high"].iloc[0]
    assert uplift == pytest.approx(true_uplift, rel=0.25)
    assert not rows["no_diminishing_returns"].any() and not rows["at_bound"].any()


def test_learned_saturation_published_with_intervals(demo_run) -> None:
    """The media model declares exponential saturation on both spend nodes: ici.transforms holds the parameter with
    a 95 % interval, the same rows in the history, the shares' run and versions; the generator's 1 - exp(-x / 2,500)
    is at half its maximum at 2,500 ln 2 = 1,733 EUR."""
    wh = demo_run["warehouse"]
    rows = query(wh, "SELECT * FROM ici.transforms WHERE model = 'media_nodes' AND parameter IS NOT NULL ORDER BY node")
    assert list(zip(rows["node"], rows["parameter"])) == [
        ("social_spend", "half_saturation"),
        ("tv_spend", "half_saturation"),
    ]
    assert (rows["family"] == "exponential").all()
    assert ((rows["low"] < rows["value"]) & (rows["value"] < rows["high"])).all()
    true_half = 2_500 * np.log(2)
    assert ((rows["value"] - true_half).abs() < 0.05 * true_half).all(), rows[["node", "value", "low", "high"]]
    shares = query(
        wh,
        "SELECT DISTINCT run_id, data_version FROM ici.ici_shares "
        "WHERE model = 'media_nodes' AND partition_key IS NULL",
    )
    assert set(rows["data_version"]) == set(shares["data_version"]) and set(rows["run_id"]) == set(shares["run_id"])
    history = query(wh, "SELECT count(*) AS n FROM ici.transforms_history WHERE model = 'media_nodes'")
    assert history["n"].iloc[0] >= len(rows)


def test_change_attribution_every_month(demo_backfill) -> None:
    keys, result = next(v for k, v in demo_backfill["runs"].items() if k.startswith("ici__media_nodes__change"))
    assert result.success and len(keys) == 23
    warehouse = demo_backfill["warehouse"]
    rows = query(warehouse, "SELECT * FROM ici.change_attribution WHERE model = 'media_nodes' ORDER BY period, node")
    assert rows["period"].nunique() == 23 and len(rows) == 23 * 6
    nodes = query(warehouse, "SELECT date, revenue FROM main.media_nodes")
    monthly = nodes.groupby(pd.to_datetime(nodes["date"]).dt.to_period("M"))["revenue"].mean()
    for period, group in rows.groupby("period"):
        change = group["observed_change"].iloc[0]
        month = pd.Period(period, "M")
        assert change == pytest.approx(monthly[month] - monthly[month - 1], rel=1e-9)
        assert abs(group["contribution"].sum() - change) <= 1e-9 * abs(change)
        assert group["sentence"].nunique() == 1
    ctr = rows[rows["period"] == pd.Timestamp(CTR_DROP_MONTH + "-01")].set_index("node")
    assert ctr.loc["social_clicks", "contribution"] / ctr["observed_change"].iloc[0] >= 0.90
    assert ctr.loc["social_clicks", "low"] <= -3646.0 <= ctr.loc["social_clicks", "high"]
    head, parts = ctr["sentence"].iloc[0].split(": ", 1)
    assert head.startswith("Revenue fell ") and head.endswith(f"in {CTR_DROP_MONTH} against 2025-02")
    assert parts.startswith("the social_clicks mechanism -")
    flight = rows[rows["period"] == pd.Timestamp(TV_FLIGHT_MONTH + "-01")].set_index("node")
    assert flight.loc["tv_spend", "low"] <= 654.6 <= flight.loc["tv_spend", "high"]
    sql = "SELECT count(*) AS n FROM ici.change_attribution_history WHERE run_id = ?"
    history = query(warehouse, sql, [result.run_id])
    assert history["n"].iloc[0] == 23 * 6
    mats = [e for e in result.get_asset_materialization_events() if e.asset_key == CHANGE]
    assert sorted(e.partition for e in mats) == keys
    for event in mats[:-1]:  # every month: its waterfall chart and its sentence
        metadata = event.materialization.metadata
        assert png_size(metadata["waterfall_chart"].value)[0] > 300
        assert metadata["summary"].value.startswith("Revenue ")
    assert [i for i, e in enumerate(mats) if "months_chart" in e.materialization.metadata] == [len(mats) - 1]
    # The last materialisation (the one the asset's pages show) sums up the backfill: the months that moved most,
    # the CTR drop and the recovery after it, not only the latest, quiet month.
    run_summary = mats[-1].materialization.metadata["summary"].value
    assert run_summary.startswith("Largest monthly changes of mean revenue (2024-02 to 2025-12")
    named = re.findall(r"\*\*(\d{4}-\d{2})\*\*", run_summary)
    assert len(named) == 3 and CTR_DROP_MONTH in named[:2] and keys[-1][:7] not in named
    assert "the social_clicks mechanism -" in run_summary and f"Latest month, {keys[-1][:7]}:" in run_summary
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations() if e.asset_key == CHANGE}
    assert checks == {"contributions_sum_to_change": True, "contributions_are_finite": True}


def test_anomalies_asset_explains_each_regions_last_week(small_base) -> None:
    """The media demo's meta enables ``ici/media_nodes/anomalies`` (periods: 7): its rows in ici.anomalies."""
    rows = query(small_base[1], "SELECT * FROM ici.anomalies WHERE model = 'media_nodes' ORDER BY period, unit, rank")
    nodes = {"demand", "tv_spend", "social_spend", "search_clicks", "social_clicks", "revenue"}
    n_regions = rows["unit"].nunique()
    assert n_regions == 4 and len(rows) == n_regions * 7 * len(nodes)  # SMALL_RUN: 4 media regions
    assert set(rows["node"]) == nodes and rows["unit"].str.fullmatch(r"R\d\d").all()  # unit: [date, region]
    days = sorted(pd.to_datetime(rows["period"]).dt.strftime("%Y-%m-%d").unique())
    assert days == [f"2025-12-{d}" for d in range(25, 32)]  # the demo's last week
    per = rows.groupby(["period", "unit"])
    assert all(sorted(ranks) == list(range(1, 7)) for ranks in per["rank"].apply(list))
    np.testing.assert_allclose(per["contribution"].sum(), per["deviation"].first(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(rows["observed"] - rows["expected"], rows["deviation"], rtol=1e-12)
    assert rows["expected"].nunique() == 1 and 8_000 < rows["expected"].iloc[0] < 40_000  # EUR per region-day
    # learned saturation on both spend nodes: the clicks are linear in the transformed spend, so exact in closed form
    assert (rows["method"] == "closed_form_linear").all() and (rows["score"] >= 0).all()
    assert (rows["flagged"] == (rows["score"] >= 6.9)).all()
    assert rows["sentence"].notna().tolist() == rows["flagged"].tolist()
    history = query(small_base[1], "SELECT count(*) AS n FROM ici.anomalies_history WHERE model = 'media_nodes'")
    assert history["n"].iloc[0] == len(rows)
