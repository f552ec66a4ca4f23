"""Engine: nonlinear mechanisms, Shapley estimator, contributions of nonlinear models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.engine import compute_ici, contributions, estimate_ici, fit_scm, ici_from_scm
from ici_assets.engine.cases import EDGES, saturating_case, saturating_truth
from ici_assets.engine.shapley import exact_shapley_ici, permutation_shapley_ici


@pytest.fixture(scope="module")
def sat() -> pd.DataFrame:
    return saturating_case(30_000, seed=1)


@pytest.fixture(scope="module")
def truth() -> dict[str, float]:
    return saturating_truth(10)


def test_quadrature_truth_converged() -> None:
    a, b = saturating_truth(8), saturating_truth(11)
    assert sum(a.values()) == pytest.approx(100)
    for k in a:
        assert a[k] == pytest.approx(b[k], abs=1e-3)


def test_nonlinear_shares_close_to_truth(sat: pd.DataFrame, truth: dict[str, float]) -> None:
    result = estimate_ici(fit_scm(sat, EDGES, mechanisms="auto", seed=0), "Revenue", seed=0)
    table = result.table.set_index("node")
    assert (table.mechanism.drop(["Demand", "TV spend", "Social spend"]) != "linear").all()
    assert result.facts.method == "shapley_exact"
    for k, v in truth.items():
        assert abs(table.loc[k, "share"] - v) < 1.0, (k, table.loc[k, "share"], v)
    # Shapley values add up to Var(Y) of the simulated model
    assert table["ici"].sum() == pytest.approx(result.facts.var_y_model, rel=1e-9)
    assert result.facts.var_y_model == pytest.approx(sat["Revenue"].var(), rel=0.03)
    # Monte Carlo error of the shares is reported and small at 100,000 draws
    assert result.facts.share_mc_se is not None and 0 < result.facts.share_mc_se.max() < 0.3
    assert result.facts.max_mc_se == result.facts.share_mc_se.max() and result.facts.n_samples == 100_000


def test_monte_carlo_spread_over_seeds(sat: pd.DataFrame) -> None:
    scm = fit_scm(sat, EDGES, mechanisms="nonlinear")
    shares = np.array([ici_from_scm(scm, "Revenue", seed=s, n_samples=50_000).share for s in range(4)])
    assert shares.std(axis=0, ddof=1).max() < 0.3


def test_exact_shapley_recovers_linear_closed_form() -> None:
    from ici_assets.engine.cases import article_case

    scm = fit_scm(article_case(20_000, 0), EDGES, mechanisms="linear")
    exact = ici_from_scm(scm, "Revenue").share.to_numpy()
    _, ici, _ = exact_shapley_ici(scm, "Revenue", n_samples=100_000, seed=1)
    np.testing.assert_allclose(100 * ici / ici.sum(), exact, atol=0.6)
    _, ici_p, info = permutation_shapley_ici(scm, "Revenue", n_samples=50_000, n_permutations=40, seed=1)
    np.testing.assert_allclose(100 * ici_p / ici_p.sum(), exact, atol=1.0)
    assert info["se"].shape == (6,)


def test_nonlinear_contributions_sum_to_target(sat: pd.DataFrame) -> None:
    scm = fit_scm(sat, EDGES, mechanisms="nonlinear")
    c = contributions(scm, "Revenue")
    assert c.index.equals(sat.index)
    np.testing.assert_allclose(c.sum(axis=1) + sat["Revenue"].mean(), sat["Revenue"], atol=1e-6 * sat.Revenue.std())
    np.testing.assert_allclose(c.mean(), 0.0, atol=1e-8 * sat.Revenue.std())


def test_contributions_rowwise_equals_linear_formula() -> None:
    """The nonlinear (row-wise Shapley) path reduces to a_j (N_j - mean) for linear mechanisms."""
    from ici_assets.engine.cases import article_case
    from ici_assets.engine.rowwise import _rowwise_shapley

    df = article_case(2_000, 0)
    scm = fit_scm(df, EDGES, mechanisms="linear")
    exact = contributions(scm, "Revenue")
    rowwise = _rowwise_shapley(scm, list(exact.columns), 8, 0)
    np.testing.assert_allclose(rowwise, exact.to_numpy(), atol=1e-6 * df.Revenue.std())


def test_forced_mechanisms_dict(sat: pd.DataFrame) -> None:
    scm = fit_scm(sat, EDGES, mechanisms={"Organic clicks": "spline", "Social clicks": "linear", "Revenue": "poly2"})
    assert scm.kinds["Organic clicks"] == "spline"
    assert scm.kinds["Social clicks"] == "linear"
    assert scm.kinds["Revenue"] == "poly2"
    with pytest.raises(ValueError, match="unknown mechanism kind"):
        fit_scm(sat, EDGES, mechanisms={"Revenue": "magic"})


def test_nonlinear_bootstrap_interval_contains_estimate(sat: pd.DataFrame) -> None:
    small = sat.head(5_000)
    table = compute_ici(
        small,
        EDGES,
        "Revenue",
        mechanisms={"Organic clicks": "spline", "Social clicks": "spline", "Revenue": "poly2"},
        n_bootstrap=8,
        n_samples=20_000,
    )
    assert table.share_low.notna().all()
    assert (table.share_low < table.share_high).all()
