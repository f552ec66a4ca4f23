"""Budget constraints against known optima: max_change, fixed channels, the target-marginal-return mode.

The saturating case's true responses are exponential saturation curves (SpendCase), so the constrained optimum and
the level where a channel's marginal return falls to a target are known in closed form.
"""

from __future__ import annotations

import numpy as np
import pytest

from ici_assets.checks.decisions import budget_checks
from ici_assets.engine import fit_scm, optimise_budget
from ici_assets.engine.budget_constraints import TARGET_TOLERANCE, feasible_totals
from ici_assets.engine.cases import ARTICLE
from ici_assets.engine.spendcases import SPEND_EDGES, SpendCase

SPLINES = {"search_clicks": "spline", "social_clicks": "spline", "revenue": "linear"}
NODES = ["tv_spend", "social_spend"]


@pytest.fixture(scope="module")
def saturating():
    case = SpendCase()
    return case, fit_scm(case.simulate(5_000, 0), SPEND_EDGES, mechanisms=SPLINES)


@pytest.fixture(scope="module")
def linear_scm():
    return fit_scm(ARTICLE.simulate(2_000, 0), ARTICLE.edges, mechanisms="linear")


def _checks_pass(table) -> dict:
    outcomes = {o.name: o for o in budget_checks(table)}
    assert all(o.passed for o in outcomes.values()), outcomes
    return outcomes["allocation_respects_constraints"].metadata


def test_max_change_keeps_every_channel_within_20_percent_at_the_true_constrained_optimum(saturating) -> None:
    """Unconstrained, social_spend would rise by about a third; with max_change 0.2 it stops at +20 % (binding)
    and TV takes the rest, at the true optimum of the split within the +-20 % box."""
    case, scm = saturating
    free = optimise_budget(scm, "revenue", NODES, n_bootstrap=0).table.set_index("node")
    assert (free.recommended / free.current - 1).abs().max() > 0.3  # the constraint has something to hold
    table = optimise_budget(scm, "revenue", NODES, max_change=0.2, n_bootstrap=10, seed=1).table
    t = table.set_index("node")
    moved = (t.recommended / t.current - 1).abs()
    assert moved.max() <= 0.2 + 1e-9 and moved["social_spend"] == pytest.approx(0.2, abs=1e-9)
    assert t.recommended.sum() == pytest.approx(t.current.sum(), rel=1e-12)
    box = {n: (0.8 * t.loc[n, "current"], 1.2 * t.loc[n, "current"]) for n in NODES}
    best = case.best_split(float(t.current.sum()), box)
    for n in NODES:
        assert t.loc[n, "recommended"] == pytest.approx(best[n], rel=0.02)
    assert t.binding.to_dict() == {"tv_spend": "", "social_spend": "max_change"}
    assert (t.max_change == 0.2).all() and not t.fixed.any() and t.target_marginal_return.isna().all()
    assert t.uplift_low.iloc[0] < t.expected_uplift.iloc[0] < t.uplift_high.iloc[0]  # the interval is kept
    assert 0 < t.expected_uplift.iloc[0] < free.expected_uplift.iloc[0]
    assert "Binding: social_spend (max_change)" in t.note.iloc[0]
    assert _checks_pass(table)["binding"] == "social_spend: max_change"


def test_fixed_channel_holds_its_level_and_per_node_max_change(saturating) -> None:
    case, scm = saturating
    table = optimise_budget(scm, "revenue", NODES, fixed=["tv_spend"], n_bootstrap=0).table.set_index("node")
    today = float(table.current.sum())
    more = optimise_budget(scm, "revenue", NODES, today + 10.0, fixed=["tv_spend"], n_bootstrap=0).table
    more = more.set_index("node")
    assert more.loc["tv_spend", "recommended"] == more.loc["tv_spend", "current"]
    assert more.loc["social_spend", "recommended"] == pytest.approx(more.loc["social_spend", "current"] + 10.0)
    assert more.binding.tolist() == ["fixed", ""] and more.fixed.tolist() == [True, False]
    tv, social = more.loc["tv_spend", "current"], more.loc["social_spend"]
    assert feasible_totals(more.reset_index()) == pytest.approx((tv + social.lower_bound, tv + social.upper_bound))
    assert today + 10.0 < tv + social.upper_bound
    per_node = optimise_budget(scm, "revenue", NODES, max_change={"social_spend": 0.1}, n_bootstrap=0).table
    p = per_node.set_index("node")
    assert p.loc["social_spend", "recommended"] == pytest.approx(1.1 * p.loc["social_spend", "current"])
    assert np.isnan(p.loc["tv_spend", "max_change"]) and p.loc["social_spend", "binding"] == "max_change"
    _checks_pass(per_node)


@pytest.mark.parametrize("target", [1.0, 2.5])
def test_target_marginal_return_stops_each_channel_within_2_percent_of_it(saturating, target: float) -> None:
    """Each channel is spent until its fitted marginal return is within 2 % of the target (measured: within
    0.25 %); the levels are near the true ones (scale * log(peak / target)), and the true marginal return
    there is near the target."""
    case, scm = saturating
    table = optimise_budget(scm, "revenue", NODES, target_marginal_return=target, n_bootstrap=10, seed=2).table
    t = table.set_index("node")
    gap = (t.marginal_return_recommended / target - 1).abs()
    assert gap.max() <= TARGET_TOLERANCE and (t.binding == "target_marginal_return").all()
    scale = {"tv_spend": case.search_scale, "social_spend": case.social_scale}
    for n in NODES:
        truth = scale[n] * np.log(case.marginal_return(n, 0.0) / target)
        assert t.loc[n, "recommended"] == pytest.approx(truth, rel=0.06)
        assert case.marginal_return(n, t.loc[n, "recommended"]) == pytest.approx(target, rel=0.1)
    assert t.total.iloc[0] == pytest.approx(t.recommended.sum()) and (t.target_marginal_return == target).all()
    assert t.uplift_low.iloc[0] < t.expected_uplift.iloc[0] < t.uplift_high.iloc[0]
    metadata = _checks_pass(table)
    assert metadata["max_target_gap_pct"] <= 100 * TARGET_TOLERANCE and metadata["target_marginal_return"] == target


def test_target_marginal_return_stops_at_a_limit_that_binds(saturating) -> None:
    """With max_change 0.2 both channels want more than +20 % at a target of 1: both stop at the limit, their
    marginal returns still above the target, and say so; a fixed channel stays put in the target mode too."""
    _, scm = saturating
    table = optimise_budget(scm, "revenue", NODES, target_marginal_return=1.0, max_change=0.2, n_bootstrap=0).table
    t = table.set_index("node")
    assert (t.binding == "max_change").all() and (t.marginal_return_recommended > 1.0).all()
    np.testing.assert_allclose(t.recommended, 1.2 * t.current, rtol=1e-12)
    _checks_pass(table)
    fixed = optimise_budget(scm, "revenue", NODES, target_marginal_return=2.5, fixed=["tv_spend"], n_bootstrap=0)
    f = fixed.table.set_index("node")
    assert f.loc["tv_spend", "recommended"] == f.loc["tv_spend", "current"]
    assert f.binding.tolist() == ["fixed", "target_marginal_return"]
    assert f.loc["social_spend", "marginal_return_recommended"] == pytest.approx(2.5, rel=TARGET_TOLERANCE)


def test_linear_target_mode_goes_to_a_bound_by_return(linear_scm) -> None:
    """Linear paths: a constant marginal return, so a channel above the target goes to the top of its limits,
    one below to the bottom, and one at the target stays (the article's fitted effects: about 1.0 and 0.95)."""

    def run(target: float):
        return optimise_budget(linear_scm, "revenue", NODES, target_marginal_return=target).table.set_index("node")

    low, high = run(0.8), run(1.2)
    assert low.binding.tolist() == ["upper bound", "upper bound"]
    assert low.recommended.tolist() == pytest.approx(low.upper_bound.tolist())
    assert high.binding.tolist() == ["lower bound", "lower bound"]
    assert high.recommended.tolist() == pytest.approx(high.lower_bound.tolist())
    tv = float(low.loc["tv_spend", "marginal_return_recommended"])
    assert tv == pytest.approx(1.0, abs=0.05)
    at_tv = run(tv)
    assert at_tv.loc["tv_spend", "binding"] == "target_marginal_return"
    assert at_tv.loc["tv_spend", "recommended"] == at_tv.loc["tv_spend", "current"]
    _checks_pass(at_tv.reset_index())


def test_constraint_errors_name_the_node_and_the_fix(linear_scm) -> None:
    with pytest.raises(ValueError, match="both a total .* and target_marginal_return"):
        optimise_budget(linear_scm, "revenue", NODES, 100.0, target_marginal_return=1.0)
    with pytest.raises(ValueError, match="'tv_spend'.* both fixed and bounded"):
        optimise_budget(linear_scm, "revenue", NODES, fixed=["tv_spend"], bounds={"tv_spend": (0, 1e6)})
    with pytest.raises(ValueError, match="max_change -0.1 is negative"):
        optimise_budget(linear_scm, "revenue", NODES, max_change=-0.1)
    with pytest.raises(ValueError, match="max_change given for \\['search'\\]"):
        optimise_budget(linear_scm, "revenue", NODES, max_change={"search": 0.1})
    with pytest.raises(ValueError, match="spend node 'tv_spend': its bounds .* and max_change 0.1 .* do not overlap"):
        optimise_budget(linear_scm, "revenue", NODES, max_change=0.1, bounds={"tv_spend": (0.0, 1000.0)})
    with pytest.raises(ValueError, match="within their bounds, max_change and fixed nodes"):
        optimise_budget(linear_scm, "revenue", NODES, 1.5 * 200_000, max_change=0.2)
    with pytest.raises(ValueError, match="target_marginal_return -1.0 must be a positive number"):
        optimise_budget(linear_scm, "revenue", NODES, target_marginal_return=-1.0)
