"""Candidate regressors for additive noise models and their choice by held-out error.

Kinds, simplest first: linear (OLS), poly2 (degree-2 polynomial + light ridge), spline
(additive cubic splines + ridge) and hgb (histogram gradient boosting). A more complex kind
wins only if it beats the simplest-so-far clearly on a held-out split, so a linear world gets
linear mechanisms (and the exact closed form).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, SplineTransformer, StandardScaler

KINDS: tuple[str, ...] = ("linear", "poly2", "spline", "hgb")
NONLINEAR_KINDS: tuple[str, ...] = ("poly2", "spline", "hgb")
ALIASES = {
    "ols": "linear",
    "polynomial": "poly2",
    "poly": "poly2",
    "splines": "spline",
    "spline_additive": "spline",
    "boosting": "hgb",
    "gbm": "hgb",
    "histgradientboosting": "hgb",
}
SELECTION_MAX_TRAIN = 10_000  # rows used to compare candidates (the chosen one is refit on all rows)
SELECTION_MAX_TEST = 5_000


def normalize_kind(kind: str) -> str:
    """Map user spellings to a canonical kind or 'auto'/'nonlinear'; raise on unknown ones."""
    k = ALIASES.get(str(kind).lower(), str(kind).lower())
    if k not in KINDS + ("auto", "nonlinear"):
        raise ValueError(
            f"unknown mechanism kind {kind!r}: use one of 'auto', 'linear', 'nonlinear', "
            f"{', '.join(repr(x) for x in KINDS[1:])}"
        )
    return k


def make_regressor(kind: str, seed: int = 0) -> Any:
    """Return an unfitted, deterministic sklearn regressor for a mechanism kind."""
    if kind == "linear":
        return LinearRegression()
    if kind == "poly2":
        return make_pipeline(StandardScaler(), PolynomialFeatures(2, include_bias=False), Ridge(alpha=1e-3))
    if kind == "spline":
        return make_pipeline(
            StandardScaler(),
            SplineTransformer(n_knots=8, degree=3, knots="quantile", extrapolation="linear"),
            Ridge(alpha=1e-3),
        )
    if kind == "hgb":
        return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.1, early_stopping=True, random_state=seed)
    raise ValueError(f"unknown mechanism kind {kind!r}")


def candidates_for(spec: str) -> tuple[str, ...]:
    """Candidate kinds to compare for a per-node spec ('auto', 'nonlinear' or a fixed kind)."""
    if spec == "auto":
        return KINDS
    if spec == "nonlinear":
        return NONLINEAR_KINDS
    return (spec,)


def select_kind(
    X: np.ndarray, y: np.ndarray, candidates: tuple[str, ...], seed: int = 0, rel_tol: float = 0.005
) -> tuple[str, dict[str, float]]:
    """Pick a kind by held-out MSE, keeping the simpler one unless the complex one is clearly better.

    "Clearly" = lower held-out MSE by more than rel_tol (relative) and by more than 3 standard
    errors of the paired squared-error difference. Returns (kind, {kind: held-out MSE}).
    """
    if len(candidates) == 1:
        return candidates[0], {}
    rng = np.random.default_rng(seed)
    n = len(y)
    perm = rng.permutation(n)
    n_test = min(SELECTION_MAX_TEST, max(n // 4, 1))
    test, train = perm[:n_test], perm[n_test:][:SELECTION_MAX_TRAIN]
    errs: dict[str, np.ndarray] = {}
    for kind in candidates:
        model = make_regressor(kind, seed).fit(X[train], y[train])
        errs[kind] = (y[test] - model.predict(X[test])) ** 2
    mse = {k: float(e.mean()) for k, e in errs.items()}
    best = candidates[0]
    for kind in candidates[1:]:
        diff = errs[best] - errs[kind]
        gain = diff.mean()
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.inf
        if gain > rel_tol * mse[best] and gain > 3 * se:
            best = kind
    return best, mse
