"""Anomaly attribution against known shocks: the shocked node ranks first, contributions sum to the deviation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import attribute_anomalies, fit_scm
from ici_assets.engine.anomalies import it_scores
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.effects import linear_ici
from ici_assets.engine.shockcases import SATURATING, SATURATING_EDGES, linear_case, linear_effects, shocked_panel


def shocked_rows(panel: pd.DataFrame, shocks: pd.DataFrame) -> pd.DataFrame:
    return panel.merge(shocks[["region", "date", "node"]], on=["region", "date"])


def top_nodes(table: pd.DataFrame) -> np.ndarray:
    """The node with the largest |contribution| of each explained row, in row order."""
    idx = table.groupby("row")["contribution"].apply(lambda s: s.abs().idxmax())
    return table.loc[idx.to_numpy(), "node"].to_numpy()


@pytest.fixture(scope="module")
def linear_shocks():
    panel, shocks = shocked_panel(linear_case(), effects=linear_effects(), n_shocks=60, seed=1)
    scm = fit_scm(panel, ARTICLE.edges, mechanisms="linear", time_column="date")
    return scm, shocked_rows(panel, shocks)


def test_linear_shocked_node_ranks_first_and_sums_to_deviation(linear_shocks) -> None:
    scm, rows = linear_shocks
    res = attribute_anomalies(scm, rows, "revenue", seed=3)
    assert res.facts.method == "closed_form_linear" and res.facts.max_mc_se is None
    assert (res.table["mc_se"] == 0).all()
    assert len(rows) == 60 and set(rows["node"]) == set(ARTICLE.nodes)
    assert np.mean(top_nodes(res.table) == rows["node"].to_numpy()) >= 0.95
    sums = res.table.groupby("row")["contribution"].sum().to_numpy()
    deviation = res.table.groupby("row")["deviation"].first().to_numpy()
    assert np.max(np.abs(sums - deviation)) <= 1e-9 * np.max(np.abs(rows["revenue"]))
    assert res.facts.max_sum_error <= 1e-9 * np.max(np.abs(rows["revenue"]))


def test_linear_closed_form_is_noise_times_total_effect_and_expected_is_the_mean(linear_shocks) -> None:
    scm, rows = linear_shocks
    res = attribute_anomalies(scm, rows.iloc[:3], "revenue")
    _, _, a = linear_ici(scm, "revenue")
    first = res.table[res.table["row"] == 0].set_index("node")
    coef = scm.linear_coefficients("social_clicks")
    n_soc = rows["social_clicks"].iloc[0] - sum(c * rows[p].iloc[0] for p, c in coef.items())
    n_soc -= scm.mechanisms["social_clicks"].intercept_  # type: ignore[attr-defined]
    assert first.loc["social_clicks", "contribution"] == pytest.approx(a["social_clicks"] * n_soc, rel=1e-9)
    demand = a["demand"] * (rows["demand"].iloc[0] - scm.data["demand"].mean())
    assert first.loc["demand", "contribution"] == pytest.approx(demand, rel=1e-9)
    assert res.facts.expected == pytest.approx(scm.data["revenue"].mean(), rel=1e-12)


def test_shapley_path_agrees_with_the_closed_form_on_a_linear_model(linear_shocks) -> None:
    """The simulated game on a linear model gives a_j (n_j - background mean of N_j): within 5 Monte Carlo SEs."""
    scm, rows = linear_shocks
    closed = attribute_anomalies(scm, rows, "revenue").table
    sim = attribute_anomalies(scm, rows, "revenue", method="shapley", n_background=4_000, seed=5)
    assert sim.facts.method == "shapley_exact"
    _, _, a = linear_ici(scm, "revenue")
    se = {n: abs(a[n]) * np.std(scm.noise[n]) / np.sqrt(4_000) for n in a}
    gap = (sim.table["contribution"] - closed["contribution"]).abs() / sim.table["node"].map(se)
    assert gap.max() < 5
    assert sim.facts.max_sum_error <= 1e-9 * np.max(np.abs(rows["revenue"]))


def test_nonlinear_shocks_rank_first_and_sum_exactly() -> None:
    """Saturating case, shocks on the non-spend nodes (a spend shock saturates: see docs/pipeline.md)."""
    nodes = ["demand", "organic_clicks", "social_clicks", "revenue"]
    panel, shocks = shocked_panel(SATURATING, nodes=nodes, n_units=8, n_shocks=40, seed=2)
    scm = fit_scm(panel, SATURATING_EDGES, mechanisms="nonlinear", time_column="date")
    rows = shocked_rows(panel, shocks)
    res = attribute_anomalies(scm, rows, "revenue", n_background=1_000, seed=0)
    assert res.facts.method == "shapley_exact" and not scm.is_linear()
    assert np.mean(top_nodes(res.table) == rows["node"].to_numpy()) >= 0.95
    assert res.facts.max_sum_error < 1e-9 * np.max(np.abs(rows["revenue"]))
    again = attribute_anomalies(scm, rows, "revenue", n_background=1_000, seed=0)
    pd.testing.assert_frame_equal(res.table, again.table)
    other = attribute_anomalies(scm, rows, "revenue", n_background=1_000, seed=1)  # the SE says how far seeds move
    z = (res.table["contribution"] - other.table["contribution"]) / np.hypot(res.table["mc_se"], other.table["mc_se"])
    assert res.facts.max_mc_se is not None and (res.table["mc_se"] > 0).all() and np.abs(z).max() < 5
    assert 0.3 < np.std(z) < 2.0
    perm = attribute_anomalies(scm, rows, "revenue", n_background=1_000, max_exact=3, n_permutations=200, seed=0)
    assert perm.facts.method == "shapley_permutation"
    assert perm.facts.max_sum_error < 1e-9 * np.max(np.abs(rows["revenue"]))
    assert np.mean(top_nodes(perm.table) == rows["node"].to_numpy()) >= 0.95


def test_it_score_matches_dowhy_definition() -> None:
    """-log P(g(Y) >= g(y)) with DoWhy's median-CDF quantile score and (count + 0.5) / (n + 0.5)."""
    from dowhy.gcm.anomaly_scorers import MedianCDFQuantileScorer

    rng = np.random.default_rng(0)
    samples, observed = rng.normal(size=3_000), np.array([0.0, 1.5, -2.5, 4.0, 9.0])
    scorer = MedianCDFQuantileScorer()
    scorer.fit(samples)
    g_s, g_o = scorer.score(samples), scorer.score(observed)
    expected = [-np.log((np.sum(g_s >= g) + 0.5) / (len(samples) + 0.5)) for g in g_o]
    np.testing.assert_allclose(it_scores(observed, samples), expected, rtol=1e-12)


def test_flags_follow_the_threshold_and_errors_name_the_column(linear_shocks) -> None:
    scm, rows = linear_shocks
    res = attribute_anomalies(scm, rows, "revenue", threshold=3.0)
    per_row = res.table.groupby("row")[["score", "flagged"]].first()
    assert (per_row["flagged"] == (per_row["score"] >= 3.0)).all() and per_row["flagged"].sum() == res.facts.n_flagged
    assert 0 < res.facts.n_flagged < len(rows)
    with pytest.raises(ValueError, match="social_clicks"):
        attribute_anomalies(scm, rows.drop(columns="social_clicks"), "revenue")
    with pytest.raises(ValueError, match="not a node"):
        attribute_anomalies(scm, rows, "profit")
