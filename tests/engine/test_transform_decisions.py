"""Spend response, budget and channel returns through learned carryover and saturation, against the generator's
true transforms: do(mean spend = x) scales the observed spend by x / mean(spend), so the current level is the data
and a level's truth is the true transforms applied to the scaled spend of the same rows."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pytest

from ici_assets.demo.transform_cases import (
    GRAPH_EDGES,
    VISIT_VALUE,
    WEEKLY_NATIONAL,
    Channel,
    TransformCase,
    simulate_transform_case,
)
from ici_assets.engine import Transform, apply_transform, channel_returns, fit_scm, optimise_budget, spend_response
from ici_assets.engine.interventions import Interventional
from ici_assets.engine.transforms import saturate

GRAPH = nx.DiGraph(list(GRAPH_EDGES))
TRUE_SPEC = WEEKLY_NATIONAL.declared
#: TV (flighted, Hill) bought far past its half-saturation, social (always on, Michaelis-Menten) far below its own:
#: the best split moves money from TV to social
SATURATED_TV = replace(
    WEEKLY_NATIONAL,
    channels=(
        replace(WEEKLY_NATIONAL.channels[0], mean=90_000.0),
        Channel(
            "social_spend",
            "always_on",
            15_000.0,
            Transform("social_spend", "none", "michaelis_menten", 8, {"half_saturation": 60_000.0}),
            4_000.0,
        ),
    ),
)
SATURATED_SPEC = {
    "tv_spend": {"carryover": "geometric", "saturation": "hill"},
    "social_spend": {"saturation": "michaelis_menten"},
}


@pytest.fixture(scope="module")
def weekly():
    data = simulate_transform_case(3)
    return data, fit_scm(data, GRAPH, time_column="period", transforms=TRUE_SPEC)


def true_revenue(data, case: TransformCase, node: str, level: float | np.ndarray) -> float | np.ndarray:
    """The revenue `node`'s spend adds per row under do(mean spend = level) (one level or an array of them), by the
    generator's true transforms on the same rows' scaled spend (carryover windows as the model takes them)."""
    channel = next(c for c in case.channels if c.name == node)
    tr = channel.transform
    carried = apply_transform(replace(tr, saturation="none"), data, time_column="period")
    f = np.asarray(level, dtype=float)[..., None] / data[node].mean()
    out = VISIT_VALUE * channel.effect * np.mean(saturate(tr.saturation, tr.params, f * carried), axis=-1)
    return float(out) if out.ndim == 0 else out


def test_the_current_level_reproduces_the_observed_mean_exactly(weekly) -> None:
    data, scm = weekly
    closed = Interventional(scm, "revenue", ["tv_spend", "social_spend"])
    simulated = Interventional(scm, "revenue", ["tv_spend", "social_spend"], simulate=True)
    assert closed.method == "closed_form_transforms" and not closed.linear and simulated.method == "simulation"
    np.testing.assert_allclose(closed.current, [data["tv_spend"].mean(), data["social_spend"].mean()], rtol=1e-12)
    for ev in (closed, simulated):
        assert ev.expected(ev.current)[0] == pytest.approx(data["revenue"].mean(), rel=1e-12)
    np.testing.assert_allclose(closed.per_row(closed.current), data["revenue"], rtol=1e-12)
    # away from the data the two agree too (every row simulated: exact), and off means saturation(0) = 0
    for levels in ([0.0, 0.0], [0.5 * closed.current[0], 2.0 * closed.current[1]]):
        assert closed.expected(levels)[0] == pytest.approx(simulated.expected(levels)[0], rel=1e-10)
    a = closed.slope[0]  # total effect of TV's transformed series on revenue
    off = closed.expected([0.0, closed.current[1]])[0]
    assert off == pytest.approx(data["revenue"].mean() - a * scm.data["tv_spend"].mean(), rel=1e-12)
    # the exact marginal return against central differences of the simulation (step 0.1 sd: O(h^2) apart)
    grad, sim_grad = closed.gradient(closed.current)[0], simulated.gradient(simulated.current)[0]
    np.testing.assert_allclose(grad, sim_grad, rtol=0.01)


def test_resamples_refit_the_transforms_and_keep_their_spend(weekly) -> None:
    _, scm = weekly
    rows = np.random.default_rng(0).integers(0, len(scm.data), len(scm.data))
    refit = scm.refit(rows)
    assert refit.transforms["tv_spend"].params["decay"] != scm.transforms["tv_spend"].params["decay"]
    np.testing.assert_array_equal(refit.spend("tv_spend"), scm.spend("tv_spend")[rows])
    ev = Interventional(refit, "revenue", ["tv_spend"])
    assert ev.current[0] == pytest.approx(scm.spend("tv_spend")[rows].mean(), rel=1e-12)
    assert ev.expected(ev.current)[0] == pytest.approx(refit.data["revenue"].mean(), rel=1e-12)


def test_tv_response_follows_the_true_geometric_hill_response(weekly) -> None:
    """The increments against the current level within 5 % of the true ones (the fitted decay and half-saturation
    are within about 0.01 and 10 % of truth on this seed; 3.4 % worst seen over two seeds) and the truth inside
    every 95 % interval (30 resamples, each refitting decay, half-saturation and slope)."""
    data, scm = weekly
    m = data["tv_spend"].mean()
    levels = m * np.array([0.5, 1.0, 1.5, 2.0])
    table = spend_response(scm, "revenue", "tv_spend", levels, n_bootstrap=30, seed=0).table
    true = true_revenue(data, WEEKLY_NATIONAL, "tv_spend", levels)
    truth = data["revenue"].mean() + true - true[1]
    assert (table["method"] == "closed_form_transforms").all()
    assert table["expected_target"].iloc[1] == pytest.approx(data["revenue"].mean(), rel=1e-12)
    gained, true_gain = table["expected_target"] - table["expected_target"].iloc[1], truth - truth[1]
    np.testing.assert_allclose(gained.drop(1), np.delete(true_gain, 1), rtol=0.05)
    assert ((table["low"] < truth) & (truth < table["high"])).all()
    increments = table["incremental_return"].to_numpy()[1:]
    assert (increments > 0).all() and (np.diff(increments) < 0).all()  # learned diminishing returns
    low, high = true_revenue(data, WEEKLY_NATIONAL, "tv_spend", m * np.array([0.999, 1.001]))
    true_marginal = (high - low) / (0.002 * m)
    row = table.iloc[0]
    assert row["current_marginal_low"] < true_marginal < row["current_marginal_high"]


def test_budget_moves_money_to_the_less_saturated_channel() -> None:
    """TV far past its half-saturation, social far below: the true best split (the true transforms over a grid of
    20,001 splits of the same total) moves money to social; the recommendation within 5 % of the total of it
    (the demo's own budget tolerance) and capturing 90 % of the best uplift. Social's half-saturation (60k, spend
    about 15k) is flagged not identified on this seed, which by default holds social at its level: the test lets it
    move (``move_not_identified``) to check the optimiser through the learned transforms."""
    data = simulate_transform_case(0, SATURATED_TV)
    scm = fit_scm(data, GRAPH, time_column="period", transforms=SATURATED_SPEC)
    assert scm.transform_identified("social_spend") is False
    held = optimise_budget(scm, "revenue", ["tv_spend", "social_spend"], n_bootstrap=0).table
    assert list(held["binding"]) == ["", "not identified"] and (held["change"].abs() < 1e-9 * held["total"]).all()
    result = optimise_budget(scm, "revenue", ["tv_spend", "social_spend"], n_bootstrap=0, move_not_identified=True)
    table = result.table.set_index("node")
    current, total = table["current"].to_numpy(), float(table["total"].iloc[0])

    def value(tv):
        tv_part = true_revenue(data, SATURATED_TV, "tv_spend", tv)
        return tv_part + true_revenue(data, SATURATED_TV, "social_spend", total - tv)

    grid = np.linspace(0.0, total, 20_001)
    values = value(grid)
    best = grid[int(np.argmax(values))]
    assert best < current[0] - 0.1 * total  # the truth moves a tenth of the budget or more out of TV
    assert table.loc["tv_spend", "recommended"] == pytest.approx(best, abs=0.05 * total)
    assert table.loc["tv_spend", "change"] < 0 < table.loc["social_spend", "change"]
    gained = value(table.loc["tv_spend", "recommended"]) - value(current[0])
    assert gained > 0.9 * (values.max() - value(current[0]))
    assert not table["no_diminishing_returns"].any() and result.facts.method == "closed_form_transforms"
    assert "Diminishing returns" in table["note"].iloc[0]


def test_channel_returns_cover_the_true_roi() -> None:
    """Incremental revenue against zero spend (saturation(0) = 0: the channel off) per EUR, the true one from the
    true transforms on the same rows inside the 95 % interval of both channels. The point within 20 %: social's spend
    is always on (log-sd 0.4), so its half-saturation is loosely pinned (about 90k fitted for 60k here; social's
    ROI 17 % low, its interval -33 % / +17 % around the estimate)."""
    data = simulate_transform_case(0, SATURATED_TV)
    scm = fit_scm(data, GRAPH, time_column="period", transforms=SATURATED_SPEC)
    table = channel_returns(scm, "revenue", ["tv_spend", "social_spend"], n_bootstrap=30).table.set_index("node")
    for node in ("tv_spend", "social_spend"):
        spend = data[node].mean()
        true_roi = true_revenue(data, SATURATED_TV, node, spend) / spend
        row = table.loc[node]
        assert row["roi_low"] < true_roi < row["roi_high"], (node, true_roi, row[["roi", "roi_low", "roi_high"]])
        assert row["roi"] == pytest.approx(true_roi, rel=0.2)
        assert row["spend"] == pytest.approx(data[node].sum(), rel=1e-12)
    assert (table["method"] == "closed_form_transforms").all()
