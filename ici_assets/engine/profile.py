"""Fitting carryover and saturation parameters by profile least squares, and saying what the data cannot tell.

Why profile least squares. Every child c of a spend node s is linear in its parents once s is transformed:
y_c = b_0 + Z_c b + a_c g_theta(s) + N_c, with g_theta = saturation(carryover(s)). For fixed theta the best
(b_0, b, a_c) is ordinary least squares, in closed form; what is left is a function of theta alone, the profile
RSS_c(theta) (Golub & Pereyra's variable projection). With Gaussian noises the profile log-likelihood of theta
over all children is -sum_c n/2 log RSS_c(theta) (each child keeps its own noise scale, so the sum is free of
units). So the search runs over the 1-3 transform parameters only, never over the children's coefficients:
  1. a grid over the family's parameters (decay 0..0.95; Weibull shape x scale; half-saturation on a log grid
     across the observed spend; Hill slope 0.5..4) evaluated in one vectorised pass: each candidate column is
     residualised on the child's other parents (one QR per child), RSS = |r_y|^2 - (r_g . r_y)^2 / |r_g|^2;
  2. local refinement of the best grid point with L-BFGS-B on the same profile (decay natural, the rest in logs).
The grid guards against local optima (a Hill curve and a slow decay can trade off); the refinement removes the
grid's resolution from the estimate. Several spend nodes sharing children are fitted by coordinate rounds (each
node's profile with the others at their current values) until the objective stops improving.

The grid's profile deviance D(theta) = 2 (loglik(best) - loglik(theta)) also says what the data cannot tell:
for each parameter, the values whose profile deviance is within chi2_1(0.95) = 3.84 of the best form a
likelihood-ratio set. A set touching both ends of the parameter's grid is a flat profile (so is a half-saturation
set reaching the grid's top, three times the largest spend, or a saturation that fits no better than a straight
line in the level by the likelihood-ratio test: no curvature seen, only a lower bound, and the interval's top is
infinite): the node is flagged (``not identified``) and its interval widened to that set. Constant spend, a
transformed column that its child's other parents explain (R^2 > COLLINEAR) and two spend nodes bought together
(correlation above sqrt(COLLINEAR): collinear flights) are flagged as well.
The choice of families ('auto') is in :mod:`families`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np
from scipy import optimize, stats

from .transforms import (
    PARAMETERS,
    Transform,
    TransformSpec,
    carryover_weights,
    saturate,
    saturate_columns,
)

OPEN_ABOVE = ("half_saturation",)  # parameters not identified when only a lower bound is seen
CHI2_95 = 3.841458820694124  # chi-square(1) 0.95 quantile: the likelihood-ratio set of one parameter
COLLINEAR = 0.95  # R^2 of a transformed spend on its child's other parents above which it is flagged
DECAYS = np.linspace(0.0, 0.95, 20)
SHAPES = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
SLOPES = np.array([0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])
N_HALF = 16
ROUNDS = 4
FTOL = 1e-8  # L-BFGS-B's relative change of the objective (about 1e-5 log-likelihood units on 156 weeks)
ROUND_TOL = 1e-3  # log-likelihood units: a round that gains less ends the coordinate rounds
CHUNK = 4_000_000  # grid cells (rows x candidate columns) per vectorised block


@dataclass
class Problem:
    """What the fit needs, row-aligned: each spend node's lag matrix and spec, each child's target, its fixed
    (untransformed) parents and its transformed parents."""

    lags: dict[Any, np.ndarray]
    specs: dict[Any, TransformSpec]
    children: dict[Any, list[Any]]
    y: dict[Any, np.ndarray]
    fixed: dict[Any, np.ndarray]
    spend_parents: dict[Any, list[Any]]
    periods: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(next(iter(self.y.values())))


@dataclass
class NodeFit:
    """One spend node's fit: the transform, its profile's likelihood-ratio sets and flags, the held-out errors of
    the families tried by ``auto``."""

    transform: Transform
    lr_sets: dict[str, tuple[float, float]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    family_mse: dict[str, float] = field(default_factory=dict)
    family_z: dict[str, float] = field(default_factory=dict)


def _grid(kind: str, max_lag: int, half_range: tuple[float, float]) -> list[dict[str, float]]:
    """Candidate parameter values of one family."""
    if kind == "none":
        return [{}]
    if kind == "geometric":
        return [{"decay": float(d)} for d in DECAYS]
    if kind == "weibull":
        scales = np.geomspace(0.5, max(2.0, float(max_lag)), 7)
        return [{"shape": float(k), "scale": float(s)} for k, s in product(SHAPES, scales)]
    halves = np.geomspace(*half_range, N_HALF)
    if kind == "hill":
        return [{"half_saturation": float(h), "slope": float(s)} for h, s in product(halves, SLOPES)]
    return [{"half_saturation": float(h)} for h in halves]


def _bounds(name: str, max_lag: int, half_range: tuple[float, float]) -> tuple[float, float, bool]:
    """(low, high, in logs) of a parameter for the local refinement."""
    return {
        "decay": (0.0, 0.99, False),
        "shape": (np.log(0.3), np.log(10.0), True),
        "scale": (np.log(0.3), np.log(3.0 * max(max_lag, 1)), True),
        "half_saturation": (np.log(half_range[0] / 4.0), np.log(half_range[1] * 4.0), True),
        "slope": (np.log(0.3), np.log(8.0), True),
    }[name]


def half_range(x: np.ndarray) -> tuple[float, float]:
    """The half-saturation grid's ends: a tenth of the median positive spend to three times the largest."""
    pos = x[np.isfinite(x) & (x > 0)]
    if len(pos) == 0:
        return 1.0, 10.0
    return float(0.1 * np.median(pos)), float(max(3.0 * pos.max(), 0.2 * np.median(pos)))


class _Child:
    """A child's design on some rows, ready for profile RSS of one transformed column."""

    def __init__(self, y: np.ndarray, others: np.ndarray):
        A = np.column_stack([np.ones(len(y)), others])
        Q, R = np.linalg.qr(A)
        keep = np.abs(np.diag(R)) > 1e-10 * max(1.0, float(np.abs(np.diag(R)).max()))
        self.Q = Q[:, keep]
        self.r_y = y - self.Q @ (self.Q.T @ y)
        self.rss0 = float(self.r_y @ self.r_y)
        self.var_y = float(np.var(y))

    def residual(self, T: np.ndarray) -> np.ndarray:
        return T - self.Q @ (self.Q.T @ T)

    def rss(self, T: np.ndarray) -> np.ndarray:
        """Profile RSS of each candidate column of T (n, G)."""
        R = self.residual(T)
        den = np.einsum("ij,ij->j", R, R)
        num = (R.T @ self.r_y) ** 2
        ok = den > 1e-12 * max(float(np.einsum("ij,ij->j", T - T.mean(axis=0), T - T.mean(axis=0)).max()), 1e-300)
        return np.asarray(np.where(ok, self.rss0 - num / np.where(ok, den, 1.0), self.rss0), dtype=float)


class NodeProfile:
    """The profile objective of one spend node's transform on some rows, the other spend nodes held fixed."""

    def __init__(self, problem: Problem, node: Any, rows: np.ndarray, current: Mapping[Any, np.ndarray]):
        self.node = node
        self.lags = problem.lags[node][rows]
        self._filled = np.nan_to_num(self.lags)  # carry's two matrices, built once for every candidate
        self._present = (~np.isnan(self.lags)).astype(float)
        self.max_lag = problem.specs[node].max_lag
        self.half_range = half_range(problem.lags[node][:, 0])
        self.children: list[_Child] = []
        self.n = len(rows)
        for c in problem.children[node]:
            others = [problem.fixed[c][rows]] + [
                current[s][rows][:, None] for s in problem.spend_parents[c] if s != node
            ]
            self.children.append(_Child(problem.y[c][rows], np.hstack(others)))

    def objective(self, rss: np.ndarray) -> np.ndarray:
        """Negative profile log-likelihood (up to a constant): sum over children of n/2 log RSS_c."""
        return 0.5 * self.n * np.sum(np.log(np.maximum(rss, 1e-300)), axis=0)

    def level(self, carry_kind: str, params: Mapping[str, float]) -> np.ndarray:
        """The carryover level of the rows (as :func:`transforms.carry`, from the prebuilt matrices)."""
        w = carryover_weights(carry_kind, params, self.max_lag)
        num, den = self._filled[:, : len(w)] @ w, self._present[:, : len(w)] @ w
        return np.asarray(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0), dtype=float)

    def column(self, carry_kind: str, sat_kind: str, params: Mapping[str, float]) -> np.ndarray:
        level = self.level(carry_kind, params)
        return saturate(sat_kind, params, level)

    def grid(self, carry_kind: str, sat_kind: str) -> tuple[list[dict[str, float]], np.ndarray]:
        """Every grid candidate's parameters and objective."""
        carries = _grid(carry_kind, self.max_lag, self.half_range)
        sats = _grid(sat_kind, self.max_lag, self.half_range)
        cands: list[dict[str, float]] = []
        objs: list[np.ndarray] = []
        per = max(1, CHUNK // max(self.n * len(sats), 1))
        for start in range(0, len(carries), per):
            block = carries[start : start + per]
            # every candidate at once: the block's levels in one product, the saturation column-wise
            W = np.column_stack([carryover_weights(carry_kind, cp, self.max_lag) for cp in block])
            num, den = self._filled[:, : len(W)] @ W, self._present[:, : len(W)] @ W
            levels = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
            sat_params = {k: np.tile([sp[k] for sp in sats], len(block)) for k in sats[0]}
            T = saturate_columns(sat_kind, sat_params, np.repeat(levels, len(sats), axis=1))
            cands += [{**cp, **sp} for cp in block for sp in sats]
            objs.append(self.objective(np.array([ch.rss(T) for ch in self.children])))
        return cands, np.concatenate(objs)

    def fit(
        self, carry_kind: str, sat_kind: str, start: Mapping[str, float] | None = None
    ) -> tuple[dict[str, float], float, list[dict[str, float]], np.ndarray]:
        """(best parameters, objective, grid candidates, grid objectives): grid search, then L-BFGS-B refinement.
        ``start``: skip the grid and refine from these values (grid outputs are then empty)."""
        names = list(PARAMETERS[carry_kind] + PARAMETERS[sat_kind])
        cands: list[dict[str, float]] = []
        objs = np.empty(0)
        if start is None:
            cands, objs = self.grid(carry_kind, sat_kind)
            best = dict(cands[int(np.argmin(objs))])
        else:
            best = dict(start)
        if not names:
            col = self.column(carry_kind, sat_kind, {})[:, None]
            return {}, float(self.objective(np.array([ch.rss(col) for ch in self.children]))[0]), cands, objs
        spec = [_bounds(p, self.max_lag, self.half_range) for p in names]

        def unpack(z: np.ndarray) -> dict[str, float]:
            return {p: float(np.exp(v) if log else v) for p, v, (_, _, log) in zip(names, z, spec)}

        def f(z: np.ndarray) -> float:
            col = self.column(carry_kind, sat_kind, unpack(z))[:, None]
            return float(self.objective(np.array([ch.rss(col) for ch in self.children]))[0])

        z0 = np.array([np.clip(np.log(best[p]) if log else best[p], lo, hi) for p, (lo, hi, log) in zip(names, spec)])
        f0 = f(z0)
        res = optimize.minimize(
            f, z0, method="L-BFGS-B", bounds=[(lo, hi) for lo, hi, _ in spec], options={"maxiter": 200, "ftol": FTOL}
        )
        if res.fun <= f0:
            return unpack(res.x), float(res.fun), cands, objs
        return unpack(z0), f0, cands, objs


def lr_sets(cands: list[dict[str, float]], objs: np.ndarray, best: float) -> dict[str, tuple[float, float, bool]]:
    """Per parameter: (low, high, flat) of the grid values whose profile deviance 2 (obj - best) is within 3.84;
    flat when that set touches both ends of the parameter's grid (or, for a half-saturation, its top end: the
    data show no saturation, only a lower bound)."""
    out: dict[str, tuple[float, float, bool]] = {}
    if not cands:
        return out
    dev = 2.0 * (objs - best)
    for name in cands[0]:
        vals = np.array([c[name] for c in cands])
        uniq = np.unique(vals)
        prof = np.array([dev[vals == v].min() for v in uniq])
        inside = uniq[prof <= CHI2_95]
        if len(inside) == 0:
            inside = uniq[[int(np.argmin(prof))]]
        upper = bool(len(uniq) > 1 and inside.max() == uniq.max())
        # a half-saturation whose set reaches the grid's top (3x the largest spend): no curvature in the data
        flat = upper and (inside.min() == uniq.min() or name in OPEN_ABOVE)
        out[name] = (float(inside.min()), float(inside.max()), flat)
    return out


def _collinearity(profile: NodeProfile, column: np.ndarray) -> float:
    """Largest R^2 of the transformed column on a child's other parents (with intercept)."""
    var = float(np.var(column))
    if var <= 0:
        return 1.0
    out = 0.0
    for ch in profile.children:
        r = ch.residual(column[:, None])[:, 0]
        out = max(out, 1.0 - float(r @ r) / (var * len(column)))
    return out


def fit_nodes(
    problem: Problem,
    families: Mapping[Any, tuple[str, str]],
    rows: np.ndarray | None = None,
    start: Mapping[Any, Mapping[str, float]] | None = None,
    diagnose: bool = False,
) -> dict[Any, NodeFit]:
    """Fit every spend node's parameters (families given) on ``rows`` by coordinate rounds of profile fits.

    First round: grid then refinement (or refinement from ``start``, as the bootstrap's resamples do); later
    rounds refine from the current values. ``diagnose``: also the likelihood-ratio sets and the flags, from a
    grid at the final values of the other nodes."""
    rows = np.arange(problem.n) if rows is None else rows
    nodes = list(families)
    params: dict[Any, dict[str, float]] = {}
    objective: dict[Any, float] = {}
    current = {  # the other nodes' columns: from the starting values, else raw spend until fitted
        s: _transform(problem, s, families[s], dict(start[s])).apply(problem.lags[s])
        if start is not None and s in start
        else problem.lags[s][:, 0].copy()
        for s in nodes
    }
    last = np.inf
    for rnd in range(ROUNDS if len(nodes) > 1 else 1):
        for s in nodes:
            prof = NodeProfile(problem, s, rows, current)
            init = params.get(s) if rnd > 0 else (None if start is None else start.get(s))
            params[s], objective[s], _, _ = prof.fit(*families[s], init)
            current[s] = _transform(problem, s, families[s], params[s]).apply(problem.lags[s])
        total = sum(objective.values())
        if abs(last - total) <= ROUND_TOL:
            break
        last = total
    fits = {s: NodeFit(_transform(problem, s, families[s], params[s])) for s in nodes}
    if diagnose:
        for s in nodes:
            _diagnose(problem, s, families[s], rows, current, objective[s], fits[s])
    return fits


def _transform(problem: Problem, node: Any, families: tuple[str, str], params: dict[str, float]) -> Transform:
    return Transform(node, families[0], families[1], problem.specs[node].max_lag, params)


def _diagnose(
    problem: Problem,
    node: Any,
    families: tuple[str, str],
    rows: np.ndarray,
    current: Mapping[Any, np.ndarray],
    best: float,
    fit: NodeFit,
) -> None:
    """Fill the node's likelihood-ratio sets and flags (constant spend, flat profile, collinear)."""
    prof = NodeProfile(problem, node, rows, current)
    cands, objs = prof.grid(*families)
    sets = lr_sets(cands, objs, min(best, float(objs.min())))
    x = problem.lags[node][rows, 0]
    x = x[np.isfinite(x)]
    if len(x) == 0 or np.ptp(x) == 0:
        fit.flags.append("constant spend: nothing to learn the transform from")
    if families[1] != "none":  # saturation nested against a straight line in the level (same carryover family)
        line = prof.fit(families[0], "none")[1]
        df = len(PARAMETERS[families[1]])
        if 2.0 * (line - best) < float(stats.chi2.ppf(0.95, df)):
            lo = sets["half_saturation"][0] if "half_saturation" in sets else 0.0
            sets["half_saturation"] = (lo, np.inf, True)
    fit.lr_sets = {p: (lo, hi) for p, (lo, hi, _) in sets.items()}
    flat = [p for p, (_, _, fl) in sets.items() if fl]
    if flat:
        fit.flags.append(
            f"flat profile: {', '.join(flat)} not identified (the data fit every value up to the end of its range)"
        )
    for other in sorted({s for c in problem.children[node] for s in problem.spend_parents[c]} - {node}, key=str):
        pair = np.column_stack([problem.lags[node][rows, 0], problem.lags[other][rows, 0]])
        pair = pair[np.isfinite(pair).all(axis=1)]
        if len(pair) > 2 and np.ptp(pair, axis=0).all():
            r = float(np.corrcoef(pair.T)[0, 1])
            if abs(r) > np.sqrt(COLLINEAR):
                fit.flags.append(f"collinear flights: its spend moves with {other!r}'s (correlation {r:.3f})")
    r2 = _collinearity(prof, current[node][rows])
    if r2 > COLLINEAR:
        fit.flags.append(
            f"collinear: its transformed spend is explained by its children's other parents (R^2 {r2:.3f})"
        )
