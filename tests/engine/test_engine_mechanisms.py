"""Engine: mechanism objects (fit / predict / noise / clone), the FittedSCM built from them, IciResult facts."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

from ici_assets.engine import (
    BoostingMechanism,
    EmpiricalRoot,
    LinearMechanism,
    Poly2Mechanism,
    SplineMechanism,
    estimate_ici,
    fit_scm,
    make_mechanism,
    total_effects,
)
from ici_assets.engine.cases import ARTICLE, EDGES, article_case


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal([5.0, 1e5], [2.0, 2e4], size=(3_000, 2))  # very different scales
    y = 3.0 * X[:, 0] - 2e-4 * X[:, 1] + 0.5 * np.sin(X[:, 0]) + rng.normal(size=3_000)
    return X, y


def test_linear_mechanism_is_ordinary_least_squares(xy) -> None:
    X, y = xy
    m = LinearMechanism().fit(X, y)
    A = np.column_stack([np.ones(len(y)), X])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(m.coef_, beta[1:], rtol=1e-9)
    assert m.intercept_ == pytest.approx(beta[0], rel=1e-9)
    assert m.rank_ == 2 and m.kind == "linear"
    np.testing.assert_allclose(m.noise(X, y), y - A @ beta, atol=1e-8)
    assert not hasattr(m.clone(), "coef_")


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            Poly2Mechanism,
            lambda: make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False), Ridge(1e-3)),
        ),
        (
            SplineMechanism,
            lambda: make_pipeline(
                StandardScaler(),
                SplineTransformer(n_knots=8, degree=3, knots="quantile", extrapolation="linear"),
                Ridge(1e-3),
            ),
        ),
    ],
)
def test_basis_mechanisms_equal_their_sklearn_pipelines(xy, ours, theirs) -> None:
    X, y = xy
    mine = ours().fit(X, y)
    ref = theirs().fit(X, y)
    new = X[:50] * 1.3  # includes extrapolation beyond the knots
    np.testing.assert_allclose(mine.predict(new), ref.predict(new), rtol=1e-6, atol=1e-6)


def test_boosting_clone_is_unfitted_and_reproducible(xy) -> None:
    X, y = xy
    a = BoostingMechanism(seed=3).fit(X, y)
    b = a.clone()
    assert isinstance(b, BoostingMechanism) and b.seed == 3 and not hasattr(b, "model_")
    np.testing.assert_array_equal(a.predict(X[:20]), b.fit(X, y).predict(X[:20]))
    with pytest.raises(ValueError, match="unknown mechanism kind 'magic'"):
        make_mechanism("magic")


@pytest.mark.parametrize(
    "mech, params",
    [
        (EmpiricalRoot(), {}),
        (LinearMechanism(), {}),
        (Poly2Mechanism(alpha=0.5), {"alpha": 0.5}),
        (SplineMechanism(alpha=0.01, n_knots=5), {"alpha": 0.01, "n_knots": 5}),
        (
            BoostingMechanism(seed=7, max_iter=50, learning_rate=0.2, early_stopping=False),
            {"seed": 7, "max_iter": 50, "learning_rate": 0.2, "early_stopping": False},
        ),
        (make_mechanism("spline", n_knots=6), {"alpha": 1e-3, "n_knots": 6}),
        (make_mechanism("hgb", 4), {"seed": 4, "max_iter": 200, "learning_rate": 0.1, "early_stopping": True}),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "",
)
def test_sklearn_clone_keeps_hyperparameters_and_predictions(xy, mech, params) -> None:
    X, y = xy
    assert mech.get_params() == params
    fitted = mech.fit(X, y)
    copy = clone(fitted)
    assert type(copy) is type(mech) and copy.get_params() == params and copy is not fitted
    assert not any(k.endswith("_") for k in vars(copy)), "a clone is unfitted"
    assert mech.clone().get_params() == params
    np.testing.assert_array_equal(copy.fit(X, y).predict(X[:200]), fitted.predict(X[:200]))
    if params:  # set_params changes what a fit does
        key = next(iter(params))
        assert clone(mech).set_params(**{key: params[key]}).get_params() == params


def test_hyperparameters_change_the_fit(xy) -> None:
    X, y = xy
    coarse, fine = SplineMechanism(n_knots=4).fit(X, y), SplineMechanism().fit(X, y)
    assert not np.allclose(coarse.predict(X[:50]), fine.predict(X[:50]))
    with pytest.raises(ValueError, match="Invalid parameter 'knots'"):
        make_mechanism("spline", knots=3)


def test_fitted_scm_holds_one_mechanism_per_node() -> None:
    df = article_case(5_000, 0)
    scm = fit_scm(df, EDGES, mechanisms={"Revenue": "poly2"})
    assert scm.kinds == {n: m.kind for n, m in scm.mechanisms.items()}
    assert scm.kinds["Revenue"] == "poly2" and scm.kinds["Demand"] == "root"
    np.testing.assert_array_equal(scm.noise["Demand"], df["Demand"].to_numpy())
    rows = np.arange(0, 5_000, 2)
    refit = scm.refit(rows)
    assert refit.kinds == scm.kinds and len(refit.data) == 2_500
    assert refit.mechanisms["Revenue"] is not scm.mechanisms["Revenue"]
    sub = scm.restricted(["Demand", "Social spend", "TV spend", "Organic clicks"])
    assert list(sub.graph.nodes) != list(scm.graph.nodes) and "Revenue" not in sub.mechanisms
    clone = pickle.loads(pickle.dumps(scm))
    np.testing.assert_array_equal(
        clone.predict("Revenue", df[["Organic clicks", "Social clicks"]].to_numpy()[:5]),
        scm.predict("Revenue", df[["Organic clicks", "Social clicks"]].to_numpy()[:5]),
    )


def test_total_effects_floats_and_arrays_agree() -> None:
    coefs = {n: dict(c) for n, (c, _, _) in ARTICLE.equations.items()}
    a = total_effects(ARTICLE.nodes, coefs, "revenue")
    assert a["demand"] == pytest.approx(1.05) and a["social_spend"] == pytest.approx(0.95) and a["revenue"] == 1.0
    arrays = {n: {p: np.array([b, 2 * b]) for p, b in c.items()} for n, c in coefs.items()}
    b = total_effects(ARTICLE.nodes, arrays, "revenue")
    np.testing.assert_allclose(b["demand"], [1.05, 4 * 1.05])
    assert ARTICLE.truth()["demand"] == pytest.approx(30.14, abs=0.005)


def test_result_facts_are_json_ready() -> None:
    res = estimate_ici(fit_scm(article_case(3_000, 1), EDGES, mechanisms="linear"), "Revenue", n_bootstrap=20)
    facts = res.facts.as_dict()
    json.dumps(facts)
    assert facts["method"] == "closed_form_linear" and facts["resampling"] == "row" and facts["n_bootstrap"] == 20
    assert facts["n_degenerate_resamples"] == 0 and facts["sparse_nodes"] == [] and "share_mc_se" not in facts
    assert list(res.table.columns) == ["node", "ici", "share", "share_low", "share_high", "mechanism", "r2"]


@pytest.mark.parametrize("n_knots", [4, 8])
def test_spline_predict_is_its_design_matrix_times_coefficients_inside_and_beyond_the_knots(n_knots: int) -> None:
    """predict evaluates one fitted curve per parent (the speed path); it must equal the sklearn
    SplineTransformer design matrix times the coefficients, linear continuation outside the knots included,
    with a flag parent (not distinct knots) entering linearly."""
    rng = np.random.default_rng(n_knots)
    n = 600
    X = np.c_[rng.gamma(2.0, size=n), rng.normal(size=n), (rng.random(n) < 0.1).astype(float)]
    y = np.sin(X[:, 0]) + X[:, 1] ** 2 + X[:, 2] + 0.1 * rng.normal(size=n)
    mech = SplineMechanism(n_knots=n_knots).fit(X, y)
    assert mech.linear_ == [2] and mech.smooth_ == [0, 1]
    new = np.c_[3.0 * rng.gamma(2.0, size=n) - 2.0, 3.0 * rng.normal(size=n), (rng.random(n) < 0.5).astype(float)]
    outside = (new[:, 0] < X[:, 0].min()) | (new[:, 0] > X[:, 0].max())
    assert outside.sum() > 50  # the linear continuation is exercised
    np.testing.assert_allclose(mech.predict(new), mech.basis(new) @ mech.w_ + mech.b_, rtol=1e-12, atol=1e-9)


def test_cubic_basis_is_spline_transformer_s_design_matrix_and_old_pickles_still_predict() -> None:
    """CubicBasis builds SplineTransformer(extrapolation="linear")'s design matrix without the transformer; a
    mechanism pickled when its basis was a fitted SplineTransformer (and it had no folded curves) unpickles to
    the same predictions."""
    rng = np.random.default_rng(7)
    n = 400
    X = np.c_[rng.gamma(2.0, size=n), rng.normal(size=n)]
    y = np.log1p(X[:, 0]) + np.tanh(X[:, 1]) + 0.1 * rng.normal(size=n)
    mech = SplineMechanism(n_knots=6).fit(X, y)
    Z = (np.c_[3.0 * rng.gamma(2.0, size=n) - 2.0, 3.0 * rng.normal(size=n)] - mech.mean_) / mech.scale_
    knots = mech.spline_.knots[3:-3]
    reference = SplineTransformer(degree=3, knots=knots, extrapolation="linear").fit(Z)
    np.testing.assert_allclose(mech.spline_.transform(Z), reference.transform(Z), rtol=1e-13, atol=1e-13)

    state = {k: v for k, v in mech.__dict__.items() if k != "curves_"} | {"spline_": reference}
    old = SplineMechanism.__new__(SplineMechanism)
    old.__setstate__(state)
    new_rows = Z * mech.scale_ + mech.mean_
    np.testing.assert_allclose(pickle.loads(pickle.dumps(old)).predict(new_rows), mech.predict(new_rows), rtol=1e-12)
