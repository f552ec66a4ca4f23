"""One small mechanism object per node kind, in the spirit of dowhy.gcm: fit / predict / noise / clone.

Kinds, simplest first: root (empirical distribution: the node is its own noise), linear (OLS),
poly2 (degree-2 polynomial + light ridge), spline (additive cubic splines + light ridge) and hgb
(histogram gradient boosting). Linear, poly2 and spline share one shape: standardize the parents,
expand them into a basis, solve a (ridge) least-squares problem from moments.

Hyperparameters follow scikit-learn's convention: ``__init__`` only stores its arguments under their own
names, fitted state ends in ``_``, so ``get_params`` / ``set_params`` and ``sklearn.base.clone`` work.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
from scipy.interpolate import BSpline, PPoly
from sklearn.base import clone as sklearn_clone
from sklearn.ensemble import HistGradientBoostingRegressor

from ._threads import serial
from .leastsq import centered_moments, ridge_solve

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


def normalize_kind(kind: str) -> str:
    """Map user spellings to a canonical kind or 'auto'/'nonlinear'; raise on unknown ones."""
    k = ALIASES.get(str(kind).lower(), str(kind).lower())
    if k not in KINDS + ("auto", "nonlinear"):
        raise ValueError(
            f"unknown mechanism kind {kind!r}: use one of 'auto', 'linear', 'nonlinear', "
            f"{', '.join(repr(x) for x in KINDS[1:])}"
        )
    return k


class Mechanism:
    """A node's causal mechanism f_j in X_j = f_j(parents) + N_j.

    Its hyperparameters are the arguments of ``__init__``, stored under their own names: ``get_params`` and
    ``set_params`` as in scikit-learn's estimators (what ``sklearn.base.clone`` needs)."""

    kind: ClassVar[str] = ""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters by name (``deep`` is accepted for scikit-learn; mechanisms nest no estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Mechanism:
        """Set hyperparameters by name (an unknown name raises ValueError naming the valid ones)."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}: valid parameters are {valid or 'none'}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def fit(self, X: np.ndarray, y: np.ndarray) -> Mechanism:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def noise(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The node's own noise: what its parents do not explain."""
        return np.asarray(y, dtype=float) - self.predict(X)

    def clone(self) -> Mechanism:
        """An unfitted copy with the same hyperparameters (``sklearn.base.clone``)."""
        out: Mechanism = sklearn_clone(self)
        return out


class EmpiricalRoot(Mechanism):
    """A root node: its empirical distribution; predict is 0 and the noise is the column itself."""

    kind = "root"

    def __init__(self) -> None:
        pass

    def fit(self, X: np.ndarray, y: np.ndarray) -> EmpiricalRoot:
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(len(X))


class BasisRidge(Mechanism):
    """Standardize the parents, expand them into a basis, and fit (ridge) least squares on it.

    alpha: sklearn Ridge's penalty on the basis (sum-of-squares loss)."""

    alpha: float

    def __init__(self, alpha: float = 1e-3) -> None:
        self.alpha = alpha

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """Fit column means and scales on X (constant columns keep scale 1) and apply them."""
        X = np.asarray(X, dtype=float)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        return (X - self.mean_) / self.scale_

    def fit_basis(self, X: np.ndarray) -> np.ndarray:
        """Fit the basis on X and return its design matrix (n, q)."""
        return self.standardize(X)

    def basis(self, X: np.ndarray) -> np.ndarray:
        """Design matrix of new rows with the fitted basis."""
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_

    def fit(self, X: np.ndarray, y: np.ndarray) -> BasisRidge:
        Phi = self.fit_basis(X)
        mp, my, cpp, cpy = centered_moments(Phi, np.asarray(y, dtype=float))
        self.set_solution(*ridge_solve(cpp, cpy, len(Phi), self.alpha), mp, my)
        return self

    def set_solution(self, w: np.ndarray, rank: int, basis_mean: np.ndarray, y_mean: float) -> None:
        """Store the basis coefficients (centred solution) and the intercept."""
        self.w_ = w
        self.b_ = float(y_mean - basis_mean @ w)
        self.rank_ = rank

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.basis(X) @ self.w_ + self.b_


class LinearMechanism(BasisRidge):
    """Ordinary least squares: coef_ and intercept_ in the data's units, rank_ of the design."""

    kind = "linear"
    alpha = 0.0  # not a hyperparameter: OLS

    def __init__(self) -> None:
        pass

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearMechanism:
        mx, my, cxx, cxy = centered_moments(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
        return self.fit_moments(mx, cxx, my, cxy)

    def fit_moments(self, mean_x: np.ndarray, cov_xx: np.ndarray, mean_y: float, cov_xy: np.ndarray) -> LinearMechanism:
        """OLS from the parents' means and covariance and their covariance with the node (ddof=0): one pass
        over the data can serve every linear node."""
        self.mean_ = np.asarray(mean_x, dtype=float)
        sd = np.sqrt(np.diagonal(cov_xx))
        self.scale_ = np.where(sd > 0, sd, 1.0)
        w, rank = ridge_solve(cov_xx / np.outer(self.scale_, self.scale_), cov_xy / self.scale_, 0, 0.0)
        self.set_solution(w, rank, np.zeros(len(w)), float(mean_y))
        return self

    def set_solution(self, w: np.ndarray, rank: int, basis_mean: np.ndarray, y_mean: float) -> None:
        super().set_solution(w, rank, basis_mean, y_mean)
        self.coef_ = w / self.scale_
        self.intercept_ = float(y_mean - self.mean_ @ self.coef_ - basis_mean @ w)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef_ + self.intercept_


class Poly2Mechanism(BasisRidge):
    """Degree-2 polynomial of the standardized parents (squares and pairwise products) + light ridge."""

    kind = "poly2"

    def fit_basis(self, X: np.ndarray) -> np.ndarray:
        return self._expand(self.standardize(X))

    def basis(self, X: np.ndarray) -> np.ndarray:
        return self._expand(super().basis(X))

    @staticmethod
    def _expand(Z: np.ndarray) -> np.ndarray:
        i, j = np.triu_indices(Z.shape[1])
        return np.hstack([Z, Z[:, i] * Z[:, j]])


class CubicBasis:
    """The cubic B-spline basis of each column on its knots, continued linearly beyond the end knots: the design
    matrix of ``SplineTransformer(degree=3, knots=knots, extrapolation="linear")`` (the same knots added beyond
    the ends, at the spacing of the end knots), built directly, without the transformer's per-call validation.

    knots: (n_knots, p), strictly increasing in each column."""

    degree = 3

    def __init__(self, knots: np.ndarray) -> None:
        k = self.degree
        knots = np.asarray(knots, dtype=float)
        step_lo, step_hi = knots[1] - knots[0], knots[-1] - knots[-2]
        self.knots = np.r_[
            np.linspace(knots[0] - k * step_lo, knots[0] - step_lo, num=k),
            knots,
            np.linspace(knots[-1] + step_hi, knots[-1] + k * step_hi, num=k),
        ]
        self.n_splines = knots.shape[0] + k - 1
        self.lo, self.hi = knots[0], knots[-1]
        eye = np.eye(self.n_splines)
        self.splines = [
            BSpline.construct_fast(self.knots[:, j], eye, k, extrapolate=False) for j in range(knots.shape[1])
        ]
        # value and slope of every basis function at each end (only the k outermost are non-zero there)
        self.ends = [(s(lo), s(lo, nu=1), s(hi), s(hi, nu=1)) for s, lo, hi in zip(self.splines, self.lo, self.hi)]

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """(n, p * n_splines): each column's basis, side by side."""
        k, m = self.degree, self.n_splines
        out = np.zeros((len(Z), len(self.splines) * m))
        for j, (spline, (f_lo, d_lo, f_hi, d_hi)) in enumerate(zip(self.splines, self.ends)):
            z, block = Z[:, j], out[:, j * m : (j + 1) * m]
            inside = (z >= self.lo[j]) & (z <= self.hi[j])
            block[inside] = spline(z[inside])
            below, above = z < self.lo[j], z > self.hi[j]
            block[below, :k] = f_lo[:k] + (z[below] - self.lo[j])[:, None] * d_lo[:k]
            block[above, -k:] = f_hi[-k:] + (z[above] - self.hi[j])[:, None] * d_hi[-k:]
        return out

    def curve(self, j: int, coef: np.ndarray) -> tuple[PPoly, float, float, float, float]:
        """Column j's fitted function sum_i coef_i B_i as a piecewise cubic, with its ends and its slopes there."""
        fitted = BSpline.construct_fast(self.knots[:, j], np.ascontiguousarray(coef, dtype=float), self.degree)
        lo, hi = float(self.lo[j]), float(self.hi[j])
        return PPoly.from_spline(fitted), lo, hi, float(fitted(lo, nu=1)), float(fitted(hi, nu=1))


class SplineMechanism(BasisRidge):
    """Additive cubic splines (`n_knots` quantile knots, linear extrapolation) + light ridge (`alpha`).

    A parent whose quantile knots are not distinct (an event dummy, a flag, a mostly-zero spend) enters
    linearly instead of through a spline."""

    kind = "spline"

    def __init__(self, alpha: float = 1e-3, n_knots: int = 8) -> None:
        self.alpha = alpha
        self.n_knots = n_knots

    def fit_basis(self, X: np.ndarray) -> np.ndarray:
        Z = self.standardize(X)
        knots = np.percentile(Z, np.linspace(0, 100, self.n_knots), axis=0)
        smooth = [j for j in range(Z.shape[1]) if np.all(np.diff(knots[:, j]) > 0)]
        self.smooth_ = smooth
        self.linear_ = [j for j in range(Z.shape[1]) if j not in smooth]
        self.spline_ = CubicBasis(knots[:, smooth]) if smooth else None
        return self._expand(Z)

    def basis(self, X: np.ndarray) -> np.ndarray:
        return self._expand(super().basis(X))

    def _expand(self, Z: np.ndarray) -> np.ndarray:
        parts = [Z[:, self.linear_]]
        if self.spline_ is not None:
            parts.append(self.spline_.transform(Z[:, self.smooth_]))
        return np.hstack(parts)

    def set_solution(self, w: np.ndarray, rank: int, basis_mean: np.ndarray, y_mean: float) -> None:
        """Also fold the coefficients into one fitted curve per smooth parent (see :meth:`predict`)."""
        super().set_solution(w, rank, basis_mean, y_mean)
        self._fold()

    def _fold(self) -> None:
        self.curves_ = []
        if self.spline_ is not None:
            n_lin, m = len(self.linear_), self.spline_.n_splines
            self.curves_ = [
                self.spline_.curve(f, self.w_[n_lin + f * m : n_lin + (f + 1) * m]) for f in range(len(self.smooth_))
            ]

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle, also a mechanism pickled by an earlier version (its basis a fitted SplineTransformer, and no
        folded curves)."""
        self.__dict__.update(state)
        old = state.get("spline_")
        if old is not None and not isinstance(old, CubicBasis):
            k = CubicBasis.degree  # the transformer's knots: ours plus k added at each end
            self.spline_ = CubicBasis(np.column_stack([b.t[k:-k] for b in old.bsplines_]))
        if "w_" in state and "curves_" not in state:
            self._fold()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The fitted function itself: sum_j w_j B_j(z) is one spline per parent with the coefficients w_j, so
        each parent costs one piecewise-cubic evaluation instead of one per basis function (the design matrix
        is only built to fit). Outside the knots it continues linearly, as the basis does: only the boundary
        basis functions are non-zero there, so the sum's continuation is the curve's value plus its slope at
        the boundary."""
        Z = super().basis(X)
        y = Z[:, self.linear_] @ self.w_[: len(self.linear_)] + self.b_
        for (curve, lo, hi, slope_lo, slope_hi), j in zip(self.curves_, self.smooth_):
            z = Z[:, j]
            y = y + curve(np.clip(z, lo, hi)) + np.minimum(z - lo, 0.0) * slope_lo + np.maximum(z - hi, 0.0) * slope_hi
        return np.asarray(y, dtype=float)


class BoostingMechanism(Mechanism):
    """Histogram gradient boosting (`max_iter` iterations, early stopping), seeded by `seed`."""

    kind = "hgb"

    def __init__(self, seed: int = 0, max_iter: int = 200, learning_rate: float = 0.1, early_stopping: bool = True):
        self.seed = seed
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping

    def fit(self, X: np.ndarray, y: np.ndarray) -> BoostingMechanism:
        with serial():  # OpenMP threads only contend on small shared machines
            self.model_ = HistGradientBoostingRegressor(
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                early_stopping=self.early_stopping,
                random_state=self.seed,
            ).fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(X), dtype=float)


_CLASSES: dict[str, type[Mechanism]] = {
    c.kind: c for c in (EmpiricalRoot, LinearMechanism, Poly2Mechanism, SplineMechanism, BoostingMechanism)
}


def make_mechanism(kind: str, seed: int = 0, **params: Any) -> Mechanism:
    """An unfitted mechanism of the given kind; `seed` for the seeded kinds (hgb), `params` its other
    hyperparameters (e.g. ``n_knots`` for spline)."""
    try:
        cls = _CLASSES[kind]
    except KeyError:
        raise ValueError(f"unknown mechanism kind {kind!r}") from None
    mech = BoostingMechanism(seed=seed) if kind == "hgb" else cls()
    return mech.set_params(**params) if params else mech
