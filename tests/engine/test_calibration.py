"""Calibration to lift tests, sensitivity to hidden confounding and the graph check's edits, on generators with a
known truth (ici_assets/engine/confoundcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import estimate_ici, fit_scm, spend_response
from ici_assets.engine.calibration import calibrate_scm, lift_test_disagreements
from ici_assets.engine.confoundcases import (
    CONFOUNDED_EDGES,
    MISSING_EDGE,
    InjectedConfounder,
    confounded_case,
    confounded_truth,
    lift_test,
    missing_edge_case,
)
from ici_assets.engine.experiments import validate_lift_tests
from ici_assets.engine.markov import local_markov_test, suggest_edits
from ici_assets.engine.sensitivity import confounding_sensitivity, robustness_value


@pytest.fixture(scope="module")
def confounded():
    df = confounded_case(seed=0)
    return df, fit_scm(df, CONFOUNDED_EDGES, mechanisms="linear", time_column="date")


def test_calibrated_return_and_shares_against_truth(confounded):
    df, scm = confounded
    result = calibrate_scm(scm, "revenue", lift_test(measured_return=1.02, relative_se=0.10))
    facts = result.facts
    assert facts.return_before["tv_spend"] >= 1.3  # the trap: least squares overstates TV
    assert abs(facts.return_after["tv_spend"] - 1.0) <= 0.10
    assert facts.return_after_se["tv_spend"] == pytest.approx(0.102, rel=1e-6)
    assert result.table.loc[0, "z_before"] > 3 and abs(result.table.loc[0, "z_after"]) < 1e-6
    truth = confounded_truth(df)["shares"]
    calibrated = estimate_ici(facts.scm, "revenue", n_bootstrap=0).table.set_index("node")["share"]
    uncalibrated = estimate_ici(scm, "revenue", n_bootstrap=0).table.set_index("node")["share"]
    assert max(abs(calibrated[n] - truth[n]) for n in truth) < 1.0
    assert abs(uncalibrated["tv_spend"] - truth["tv_spend"]) > 10  # the uncalibrated share is far off
    # only the tested edge moved; every other coefficient keeps its least-squares value
    before, after = scm.linear_coefficients("revenue"), facts.scm.linear_coefficients("revenue")
    assert after["search_clicks"] == before["search_clicks"] and after["social_spend"] == before["social_spend"]
    assert after["tv_spend"] < before["tv_spend"]
    # the definition: ICI_j = a_j^2 Var(child - f_calibrated(parents)), noises treated as independent
    noise = df["revenue"] - facts.scm.predict("revenue", df[facts.scm.parents["revenue"]].to_numpy())
    ici = estimate_ici(facts.scm, "revenue", n_bootstrap=0).table.set_index("node")["ici"]
    assert ici["revenue"] == pytest.approx(np.var(noise), rel=1e-9)
    assert facts.noise_covariance_share > 0.05  # the left-out covariance is reported, not hidden


def test_confounder_strength_the_calibration_implies_brackets_the_hidden_one(confounded):
    df, scm = confounded
    needed = calibrate_scm(scm, "revenue", lift_test(measured_return=1.02)).facts.confounder_r2_needed["tv_spend"]
    parents = scm.parents["revenue"]
    others = [df[p].to_numpy() for p in parents if p != "tv_spend"]
    demand = df["demand"].to_numpy()
    r2d = _partial_r2(df["tv_spend"].to_numpy(), others, demand)
    r2y = _partial_r2(df["revenue"].to_numpy(), [df[p].to_numpy() for p in parents], demand)
    assert min(r2d, r2y) <= needed <= max(r2d, r2y)


def test_conflicting_tests_are_named(confounded):
    _, scm = confounded
    low = lift_test(measured_return=0.6, relative_se=0.05, start="2025-03-01", end="2025-03-10")
    high = lift_test(measured_return=1.4, relative_se=0.05)
    result = calibrate_scm(scm, "revenue", pd.concat([low, high], ignore_index=True))
    assert result.facts.chi2_dof == 1 and result.facts.chi2 > 9
    messages = lift_test_disagreements(result, max_z=3.0)
    assert len(messages) == 2
    assert messages[0].startswith("lift test row 0 (tv_spend, all units, 2025-03-01 to 2025-03-10)")
    assert "through tv_spend -> revenue" in messages[1]
    assert lift_test_disagreements(calibrate_scm(scm, "revenue", low)) == []


def test_two_tests_on_one_node_give_their_precision_weighted_mean(confounded):
    _, scm = confounded
    a = lift_test(measured_return=0.9, relative_se=0.1, start="2025-03-01", end="2025-03-14")
    b = lift_test(measured_return=1.2, relative_se=0.2, start="2025-06-01", end="2025-06-14")
    tests = pd.concat([a, b], ignore_index=True)
    r = np.array([0.9, 1.2])
    se = np.array([0.09, 0.24])
    w = 1 / se**2
    assert calibrate_scm(scm, "revenue", tests).facts.return_after["tv_spend"] == pytest.approx(
        float(w @ r / w.sum()), rel=1e-6
    )


def test_calibrated_intervals_carry_the_tests_uncertainty(confounded):
    df, scm = confounded
    calibrated = calibrate_scm(scm, "revenue", lift_test(measured_return=1.02, relative_se=0.10)).facts.scm
    truth = confounded_truth(df)["shares"]
    shares = estimate_ici(calibrated, "revenue", n_bootstrap=100, seed=1).table.set_index("node")
    assert all(shares.loc[n, "share_low"] <= truth[n] <= shares.loc[n, "share_high"] for n in truth)
    plain = estimate_ici(scm, "revenue", n_bootstrap=100, seed=1).table.set_index("node")
    assert plain.loc["tv_spend", "share_low"] > truth["tv_spend"]  # the uncalibrated interval misses the truth
    # every resample recalibrates with the lift redrawn: the return's interval is the test's, 1.02 +- 1.96 x 0.102
    row = spend_response(calibrated, "revenue", "tv_spend", [100.0], n_bootstrap=100, seed=1).table.iloc[0]
    assert row["current_marginal_return"] == pytest.approx(1.02, rel=1e-9)
    assert row["current_marginal_low"] < 1.0 < row["current_marginal_high"]
    assert 0.33 < row["current_marginal_high"] - row["current_marginal_low"] < 0.50


def test_calibration_refuses_nonlinear_and_unreachable_nodes(confounded):
    df, scm = confounded
    nonlinear = fit_scm(df, CONFOUNDED_EDGES, mechanisms={"revenue": "poly2"}, time_column="date")
    with pytest.raises(ValueError, match="'revenue'.*nonlinear"):
        calibrate_scm(nonlinear, "revenue", lift_test())
    with pytest.raises(ValueError, match="row 0: node 'search_clicks' has no directed path to 'tv_spend'"):
        calibrate_scm(scm, "tv_spend", lift_test(node="search_clicks"))


def test_lift_test_validation_names_the_row(confounded):
    df, scm = confounded
    good = lift_test()
    bad = pd.concat(
        [
            good.assign(node="tv"),
            good.assign(start_period="2024-01-01"),
            good.assign(lift_se=0.0),
            good.assign(unit="r01", start_period="2025-06-10", end_period="2025-07-10"),
        ],
        ignore_index=True,
    )
    with pytest.raises(ValueError) as err:
        validate_lift_tests(bad, scm.order, periods=scm.period_values, units=set(df["region"]))
    message = str(err.value)
    assert "row 0" in message and "unknown node 'tv'" in message
    assert "row 1" in message and "period outside the data" in message
    assert "row 2" in message and "lift_se must be a positive standard error" in message
    assert "row 3" in message and "overlaps lift test row 1" in message
    with pytest.raises(ValueError, match="row 0.*unknown unit 'north'"):
        calibrate_scm(scm, "revenue", good.assign(unit="north"), units=set(df["region"]))


def test_robustness_value_is_the_closed_form_of_the_t_statistic(confounded):
    _, scm = confounded
    table = confounding_sensitivity(scm, ["tv_spend"]).table
    for row in table.itertuples():
        f = abs(row.t) / np.sqrt(row.dof)
        assert row.robustness_value == pytest.approx((np.sqrt(f**4 + 4 * f**2) - f**2) / 2, abs=1e-9)
        f = 0.5 * f
        assert row.robustness_value_q == pytest.approx((np.sqrt(f**4 + 4 * f**2) - f**2) / 2, abs=1e-9)
        # the t-statistic itself: statsmodels-free check against the textbook OLS formula
        X = np.column_stack([np.ones(len(scm.data)), scm.data[scm.parents[row.child]].to_numpy()])
        y = scm.data[row.child].to_numpy()
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        s2 = np.sum((y - X @ beta) ** 2) / (len(y) - X.shape[1])
        i = 1 + scm.parents[row.child].index(row.node)
        assert row.t == pytest.approx(beta[i] / np.sqrt(s2 * np.linalg.inv(X.T @ X)[i, i]), rel=1e-9)


def _partial_r2(y: np.ndarray, controls: list[np.ndarray], u: np.ndarray) -> float:
    A = np.column_stack([np.ones(len(y)), *controls])
    ry = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    ru = u - A @ np.linalg.lstsq(A, u, rcond=None)[0]
    return float(np.corrcoef(ry, ru)[0, 1] ** 2)


def test_sentence_threshold_brackets_an_injected_confounder():
    case = InjectedConfounder(r2=0.10, fraction=0.5)  # explains 10 % of both, halves the observed effect
    data = case.simulate(20_000, seed=0)
    scm = fit_scm(data, [("treatment", "outcome")], mechanisms="linear")
    row = confounding_sensitivity(scm).table.iloc[0]
    assert "of both treatment and outcome would halve treatment's effect" in row["sentence"]
    assert abs(row["robustness_value_q"] - case.r2) < 0.01
    # exactly: the confounder's sample partial R^2 with treatment and with outcome straddle RV for the cut it makes
    d, y, u = data["treatment"].to_numpy(), data["outcome"].to_numpy(), data["u"].to_numpy()
    adjusted = np.linalg.lstsq(np.column_stack([np.ones(len(y)), d, u]), y, rcond=None)[0][1]
    q = (row["estimate"] - adjusted) / row["estimate"]
    rv = robustness_value(row["t"], row["dof"], q=q)
    r2d, r2y = _partial_r2(d, [], u), _partial_r2(y, [d], u)
    assert min(r2d, r2y) <= rv <= max(r2d, r2y)


def test_missing_edge_fails_the_check_and_is_ranked_first():
    data, edges = missing_edge_case()
    assert local_markov_test(data, edges)["rejected_bonferroni"].any()
    edits = suggest_edits(data, edges, alpha=0.01)
    assert (edits.loc[0, "parent"], edits.loc[0, "child"]) == MISSING_EDGE
    assert edits.loc[0, "rejected_after"] == 0 < edits.loc[0, "rejected_before"]
    full = [*edges, MISSING_EDGE]
    assert suggest_edits(data, full).empty
    # the time order: spend is set before the period, so no edit gives tv_spend a parent
    kept = suggest_edits(data, edges, roots=["demand", "tv_spend", "social_spend"])
    assert "tv_spend" not in set(kept["child"]) and len(kept) == len(edits) - 1
    with pytest.raises(ValueError, match="'tv'"):
        suggest_edits(data, edges, roots=["tv"])
