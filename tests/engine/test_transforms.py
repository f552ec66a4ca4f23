"""Learned carryover and saturation: the families against hand computations, windows that stay within a unit and
stop at gaps, recovery of known parameters, honest flags when the data cannot tell, and the closed-form ICI of a
spend node through its transformed series."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from ici_assets.demo import ground_truth_ici, simulate_nodes
from ici_assets.demo.transform_cases import (
    DAILY_REGIONAL,
    GRAPH_EDGES,
    WEEKLY_NATIONAL,
    sample_truth,
    simulate_transform_case,
)
from ici_assets.engine import (
    Transform,
    TransformSpec,
    apply_transform,
    compute_ici,
    estimate_ici,
    fit_scm,
    fit_transforms,
    spend_response,
)
from ici_assets.engine.transforms import (
    carry,
    carryover_weights,
    lag_matrix,
    saturate,
    saturation_slope,
    time_positions,
)

GRAPH = nx.DiGraph(list(GRAPH_EDGES))
TRUE_SPEC = WEEKLY_NATIONAL.declared


def test_carryover_weights_and_levels_match_hand_computations():
    assert np.allclose(carryover_weights("geometric", {"decay": 0.5}, 3), [1, 0.5, 0.25, 0.125])
    # Weibull density at lag + 1 (shape 2, scale 2): (k / lam) (x / lam)^(k-1) exp(-(x / lam)^k), scaled to max 1
    x = np.arange(1, 5) / 2.0
    pdf = x * np.exp(-(x**2))
    assert np.allclose(carryover_weights("weibull", {"shape": 2.0, "scale": 2.0}, 3), pdf / pdf.max())
    # spend 100, 0, 0 with decay 0.5 over 2 lags: levels 100 (first row: only itself), 100*0.5/1.5, 100*0.25/1.75
    lags = lag_matrix(np.array([100.0, 0.0, 0.0]), None, np.arange(3), 2)
    level = carry(lags, carryover_weights("geometric", {"decay": 0.5}, 2))
    assert np.allclose(level, [100.0, 50.0 / 1.5, 25.0 / 1.75])
    tr = Transform("tv", "geometric", "none", 2, {"decay": 0.5})
    assert np.allclose(tr.weights, np.array([1, 0.5, 0.25]) / 1.75)


@pytest.mark.parametrize(
    ("kind", "params"),
    [("hill", {"half_saturation": 40.0, "slope": 3.0}), ("michaelis_menten", {"half_saturation": 40.0}),
     ("logistic", {"half_saturation": 40.0}), ("exponential", {"half_saturation": 40.0})],
)  # fmt: skip
def test_every_saturation_reaches_half_its_maximum_at_half_saturation(kind, params):
    assert saturate(kind, params, np.array([40.0]))[0] == pytest.approx(0.5)
    assert saturate(kind, params, np.array([0.0]))[0] == pytest.approx(0.0)
    assert saturate(kind, params, np.array([1e9]))[0] == pytest.approx(1.0, abs=1e-6)
    # the exact slope (marginal returns through a learned saturation) against central differences
    x = np.array([5.0, 40.0, 90.0])
    numeric = (saturate(kind, params, x + 1e-4) - saturate(kind, params, x - 1e-4)) / 2e-4
    np.testing.assert_allclose(saturation_slope(kind, params, x), numeric, rtol=1e-6)
    assert saturate("hill", {"half_saturation": 2.0, "slope": 2.0}, np.array([4.0]))[0] == pytest.approx(16 / 20)


def test_carryover_never_crosses_a_unit_or_a_gap():
    dates = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-29", "2024-02-05"])
    data = pd.DataFrame(
        {
            "week": list(dates) * 2,
            "region": ["a"] * 5 + ["b"] * 5,
            "tv": [100.0, 0, 0, 0, 0] + [1000.0] * 5,
        }
    ).sample(frac=1.0, random_state=3)  # row order must not matter
    tr = Transform("tv", "geometric", "none", 8, {"decay": 0.5})
    out = pd.Series(apply_transform(tr, data, time_column="week", unit_column="region"), index=data.index)
    a = data["region"] == "a"
    by_week = out[a].groupby(data.loc[a, "week"]).first().to_numpy()
    # region a sees only its own spend; week 4 (Jan 22) is missing: the windows of Jan 29 and Feb 5 restart there
    assert np.allclose(by_week, [100.0, 50.0 / 1.5, 25.0 / 1.75, 0.0, 0.0])
    assert np.allclose(out[~a], 1000.0)
    assert list(time_positions(pd.Series(dates))) == [0, 1, 2, 4, 5]
    with pytest.raises(ValueError, match="one row per unit and period"):
        apply_transform(tr, data, time_column="week")  # two regions, no unit column


def test_weekly_national_recovers_decay_and_half_saturation_with_an_interval_covering_the_truth():
    data = simulate_transform_case(0, WEEKLY_NATIONAL)
    result = fit_transforms(data, GRAPH, TRUE_SPEC, time_column="period", model="mmm", n_bootstrap=30, seed=0)
    t = result.table.set_index(["node", "parameter"])
    decay = t.loc[("tv_spend", "decay")]
    assert abs(decay["value"] - 0.7) <= 0.05
    assert decay["low"] <= 0.7 <= decay["high"] and decay["high"] - decay["low"] < 0.2
    assert abs(t.loc[("tv_spend", "half_saturation"), "value"] / 40_000 - 1) <= 0.15
    assert list(result.table.columns[:7]) == ["model", "node", "transform", "family", "parameter", "value", "low"]
    assert set(result.table["model"]) == {"mmm"} and result.facts.n_bootstrap == 30
    assert "tv_spend: carryover geometric decay 0.7" in result.facts.summary[0]


def test_the_batched_bootstrap_refits_reach_the_per_node_refits_optimum_and_keep_the_point_estimate():
    """The bootstrap refits all resamples at once (engine/batchfit.py) instead of per-node L-BFGS-B rounds
    (profile.fit_nodes): the point estimate is untouched (the values of the code before), each resample lands on the
    same decay as the per-node refit, at an objective at least as good, and on all rows the refit stays at the
    point estimate."""
    from ici_assets.engine.batchfit import BatchRefit
    from ici_assets.engine.profile import fit_nodes
    from ici_assets.engine.resampling import Plan
    from ici_assets.engine.transformfit import _restrict, learn_transforms

    data = simulate_transform_case(0, WEEKLY_NATIONAL)
    learned = learn_transforms(data, GRAPH, TRUE_SPEC, time_column="period", unit_column="unit")
    tv = learned.transforms["tv_spend"].params
    assert tv["decay"] == pytest.approx(0.711169, abs=1e-6)  # the point fit as before the batched refits
    assert tv["half_saturation"] == pytest.approx(42_649.58, rel=1e-6)
    sub = _restrict(learned.problem, learned.rows)
    start = {n: f.transform.params for n, f in learned.fits.items()}
    plan = Plan(sub.n, sub.periods - sub.periods.min(), int(np.ptp(sub.periods)) + 1, 6)
    rng = np.random.default_rng(7)
    counts = np.concatenate([plan.unit_counts(1, rng) for _ in range(4)])[:, sub.periods - sub.periods.min()]
    counts = np.vstack([np.ones(sub.n), counts])  # first: every row once (the point fit's own data)
    refit = BatchRefit(sub, learned.families, start)
    batched = refit.fit(counts)
    assert batched[0]["tv_spend"]["decay"] == pytest.approx(tv["decay"], abs=1e-3)
    assert batched[0]["tv_spend"]["half_saturation"] == pytest.approx(tv["half_saturation"], rel=0.01)
    for w, params in zip(counts[1:], batched[1:]):
        rows = np.repeat(np.arange(sub.n), w.astype(int))
        old = {n: f.transform.params for n, f in fit_nodes(sub, learned.families, rows=rows, start=start).items()}
        assert params["tv_spend"]["decay"] == pytest.approx(old["tv_spend"]["decay"], abs=2e-3)
        z = np.array([np.concatenate([nc.to_z(p[nc.node]) for nc in refit.nodes]) for p in (params, old)])
        f_new, f_old = refit._evaluate(z, np.vstack([w, w]))[0]
        assert 0.5 * w.sum() * (f_new - f_old) <= 1e-3  # log-likelihood: at least as good an optimum


@pytest.mark.parametrize("seed", [1, 2])
def test_the_batched_bootstrap_intervals_still_cover_the_true_decay(seed):
    data = simulate_transform_case(seed, WEEKLY_NATIONAL)
    result = fit_transforms(data, GRAPH, TRUE_SPEC, time_column="period", n_bootstrap=100, seed=seed)
    decay = result.table.set_index(["node", "parameter"]).loc[("tv_spend", "decay")]
    assert decay["low"] <= 0.7 <= decay["high"] and 0.01 < decay["high"] - decay["low"] < 0.1
    assert decay["low"] < decay["value"] < decay["high"]


def test_auto_adopts_carryover_the_likelihood_shows_though_its_held_out_z_is_short():
    """Weekly seed 4: geometric carryover cuts the held-out error 11-fold at a batch-means z of 1.997 (below
    Z_FAMILY = 2): 'none' was kept, unflagged; the profile likelihood ratio (236) now adopts the nesting family."""
    data = simulate_transform_case(4, WEEKLY_NATIONAL)
    spec = {"tv_spend": {"carryover": "auto", "saturation": "hill"}, "social_spend": TRUE_SPEC["social_spend"]}
    result = fit_transforms(data, GRAPH, spec, time_column="period")
    z = result.facts.family_z["tv_spend"]["geometric+hill vs none+hill"]
    assert 1.9 < z < 2.0
    decay = result.table.set_index(["node", "parameter"]).loc[("tv_spend", "decay")]
    assert decay["family"] == "geometric" and abs(decay["value"] - 0.7) < 0.02 and "tv_spend" not in result.facts.flags


def test_a_borderline_family_choice_is_flagged_not_silent():
    """Weekly seed 15, both transforms 'auto': no curve beats a straight line in the level beyond the noise, so
    'none' is kept, and TV is flagged as borderline (Hill's held-out gain or likelihood ratio was near the bar)."""
    data = simulate_transform_case(15, WEEKLY_NATIONAL)
    spec = {n: {"carryover": "auto", "saturation": "auto"} for n in TRUE_SPEC}
    result = fit_transforms(data, GRAPH, spec, time_column="period")
    tv = result.table[result.table["node"] == "tv_spend"]
    assert tv.set_index("transform")["family"].to_dict() == {"carryover": "geometric", "saturation": "none"}
    assert "tv_spend" in result.facts.not_identified and not tv["identified"].any()
    assert any(f.startswith("saturation family borderline: auto kept 'none'") for f in result.facts.flags["tv_spend"])


def test_constant_spend_is_flagged_not_identified_with_a_wide_interval():
    data = simulate_transform_case(1, WEEKLY_NATIONAL)
    data["tv_spend"] = 30_000.0
    result = fit_transforms(data, GRAPH, {"tv_spend": {"carryover": "geometric"}}, time_column="period", n_bootstrap=10)
    assert result.facts.not_identified == ("tv_spend",)
    assert any("constant spend" in f for f in result.facts.flags["tv_spend"])
    row = result.table.set_index("parameter").loc["decay"]
    assert not row["identified"] and row["low"] <= 0.05 and row["high"] >= 0.9


def test_collinear_flights_are_flagged():
    data = simulate_transform_case(2, WEEKLY_NATIONAL)
    data["social_spend"] = 0.5 * data["tv_spend"]  # bought in the same flights
    spec = {"tv_spend": {"carryover": "geometric"}, "social_spend": {"carryover": "geometric"}}
    result = fit_transforms(data, GRAPH, spec, time_column="period")
    assert set(result.facts.not_identified) == {"tv_spend", "social_spend"}
    assert all(any("collinear" in f for f in result.facts.flags[n]) for n in spec)
    assert not result.table["identified"].any()


def test_no_saturation_in_the_data_flags_the_half_saturation():
    data = simulate_transform_case(3, WEEKLY_NATIONAL)
    tv = Transform("tv_spend", "geometric", "none", 8, {"decay": 0.7})
    level = apply_transform(tv, data, time_column="period")
    data["visits"] = 50 * data["demand"] + 0.05 * level + np.random.default_rng(0).normal(0, 150, len(data))
    result = fit_transforms(
        data, GRAPH, {"tv_spend": {"carryover": "geometric", "saturation": "hill"}}, time_column="period"
    )
    assert result.facts.not_identified == ("tv_spend",)
    assert "half_saturation" in result.facts.flags["tv_spend"][0]
    row = result.table.set_index("parameter").loc["half_saturation"]
    assert np.isinf(row["high"]) and not row["identified"]  # only a lower bound: no curvature in the data


def test_closed_form_ici_through_the_transformed_series_matches_the_analytic_share():
    data = simulate_transform_case(0, DAILY_REGIONAL)
    table = compute_ici(
        data, GRAPH, "revenue", time_column="period", unit_column="unit", transforms=TRUE_SPEC, mechanisms="linear"
    ).set_index("node")
    truth = sample_truth(data, DAILY_REGIONAL).set_index("node")["share"]
    assert (table["mechanism"].drop(["tv_spend", "social_spend", "demand"]) == "linear").all()
    assert np.abs(table["share"] - truth).max() < 1.0


def test_auto_carryover_on_same_day_tv_spend_gets_the_demo_tv_share_within_one_point():
    data = simulate_nodes(0, n_regions=20, n_days=365)
    edges = [(p, c) for c in ("organic_clicks", "social_clicks") for p in ("demand", "tv_spend", "social_spend")]
    graph = nx.DiGraph(edges + [("organic_clicks", "revenue"), ("social_clicks", "revenue")])
    truth = ground_truth_ici().set_index("node")["share"]["tv_adstock"]
    plain = compute_ici(data, graph, "revenue", time_column="date").set_index("node")["share"]["tv_spend"]
    both = {"tv_spend": {"carryover": "auto"}, "social_spend": {"carryover": "auto"}}
    scm = fit_scm(data, graph, time_column="date", unit_column="region", transforms=both)
    learned = compute_ici(
        data, graph, "revenue", time_column="date", unit_column="region", transforms={"tv_spend": {"carryover": "auto"}}
    ).set_index("node")["share"]["tv_spend"]
    assert truth - plain > 4.0  # same-day spend without carryover: about 6 points low
    assert abs(learned - truth) < 1.0
    tr = scm.transforms["tv_spend"]
    assert tr.carryover == "geometric" and abs(tr.params["decay"] - 0.6) < 0.03 and not scm.transform_flags
    assert scm.transforms["social_spend"].carryover == "none"  # social acts the same day: auto keeps it so
    # a level is mean spend (EUR per region-day), the windows rebuilt per region: the current one is the data
    tv = scm.spend("tv_spend")
    assert tv.mean() == pytest.approx(data["tv_spend"].mean(), rel=1e-12)
    at = spend_response(scm, "revenue", "tv_spend", [tv.mean()], n_bootstrap=0).table["expected_target"]
    assert at.iloc[0] == pytest.approx(data["revenue"].mean(), rel=1e-12)


def test_declarations_are_checked_with_the_node_named():
    assert TransformSpec.parse("tv", {"carryover": {"kind": "weibull", "max_lag": 4}}) == TransformSpec(
        "weibull", "none", 4
    )
    with pytest.raises(ValueError, match="'tv'.*unknown kind 'adstock'"):
        TransformSpec.parse("tv", {"carryover": "adstock"})
    data = simulate_transform_case(0, WEEKLY_NATIONAL)
    with pytest.raises(ValueError, match="only root spend nodes.*'visits'"):
        fit_transforms(data, GRAPH, {"visits": {"saturation": "hill"}}, time_column="period")
    with pytest.raises(ValueError, match="needs time_column"):
        fit_transforms(data, GRAPH, {"tv_spend": {"carryover": "geometric"}})


class _Held:
    """A transform state whose refit keeps the point estimate: the same bootstrap path with the parameters held."""

    def __init__(self, scm):
        self.columns = {n: scm.data[n].to_numpy() for n in scm.transforms}
        self.transforms = scm.transforms

    def refit(self, rows):
        return self.columns, self.transforms


def test_the_shares_bootstrap_refits_the_transform_parameters():
    data = simulate_transform_case(4, DAILY_REGIONAL)
    scm = fit_scm(data, GRAPH, time_column="period", unit_column="unit", transforms=TRUE_SPEC, mechanisms="linear")
    rows = np.arange(len(data))[: len(data) // 2]
    refit = scm.refit(rows)
    assert refit.transforms["tv_spend"].params["decay"] != scm.transforms["tv_spend"].params["decay"]
    assert not np.allclose(refit.data["tv_spend"], scm.data["tv_spend"].iloc[rows])
    learned = estimate_ici(scm, "revenue", n_bootstrap=30, seed=1)
    held = estimate_ici(replace(scm, transform_state=_Held(scm)), "revenue", n_bootstrap=30, seed=1)
    assert learned.facts.method == "closed_form_linear" and learned.facts.n_bootstrap == 30
    pd.testing.assert_series_equal(learned.table["share"], held.table["share"])
    tv = {k: r.table.set_index("node").loc["tv_spend"] for k, r in {"learned": learned, "held": held}.items()}
    # the same resamples, the parameters refitted on each: the interval moves (on this daily case by hundredths of
    # a point: the share's uncertainty is the flights' sampling, not the parameters')
    assert tv["learned"]["share_high"] != tv["held"]["share_high"]
    assert tv["learned"]["share_low"] < tv["learned"]["share"] < tv["learned"]["share_high"]


def test_transform_table_of_a_fitted_scm_is_its_own_point_fit_with_fit_transforms_intervals():
    """The SCM asset tabulates the SCM's transforms without a second point fit: the same values as the SCM holds,
    and the same table (intervals included) as fit_transforms on the same data and seed."""
    from ici_assets.engine import transform_table

    data = simulate_transform_case(3)
    spec = {"tv_spend": {"carryover": "auto", "saturation": "hill"}}
    scm = fit_scm(data, GRAPH, mechanisms="linear", time_column="period", transforms=spec)
    table = transform_table(scm.transform_state, model="m", n_bootstrap=30, seed=5).table
    fitted = scm.transforms["tv_spend"].params
    values = dict(zip(table["parameter"], table["value"]))
    assert values == {p: fitted[p] for p in values} and set(values) == {"decay", "half_saturation", "slope"}
    direct = fit_transforms(data, GRAPH, spec, time_column="period", model="m", n_bootstrap=30, seed=5).table
    pd.testing.assert_frame_equal(table, direct)
    assert (table["low"] < table["value"]).all() and (table["value"] < table["high"]).all()
    with pytest.raises(TypeError, match="transform_state"):
        transform_table(fit_scm(data, GRAPH, mechanisms="linear").transform_state)
