"""Automatic choice of a node's mechanism kind by held-out error, staged so linear nodes stay cheap.

Stage 1 (cheap, settles linear nodes): linear, poly2 and additive-spline fits are compared by 5-fold
cross-validation on up to 5,000 rows. Each candidate's basis is built once; every fold's fit is a
least-squares solve from the total Gram matrix minus the fold's, so the stage costs a few matrix
products. Stage 2 (only when stage 1 found a clear nonlinearity, or when linear is not a candidate):
the same comparison on up to 20,000 rows, then gradient boosting fitted once and compared with
its winner on one fold. Reported MSEs and z-scores are those of the last stage.

Decision rule: candidates are visited simplest first; a more flexible kind replaces the incumbent
only if its held-out MSE gain is above MIN_GAIN (1 %) of the incumbent's MSE AND above Z_GAIN (4)
standard errors of the paired difference of squared errors. With a time column, folds are
contiguous runs of periods (no look-ahead between neighbouring, autocorrelated days) and the
standard error comes from batch means over runs of periods, so autocorrelated residuals do not
make a flexible model look significantly better than it is. A gain inside the noise never
switches the kind, so the choice is the same for any seed unless the data sit on the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._threads import serial
from .leastsq import ridge_solve
from .mechanisms import BasisRidge, make_mechanism

FOLDS = 5
CHEAP_ROWS = 5_000
MAX_CV_ROWS = 20_000
HGB_TRAIN, HGB_TEST = 10_000, 5_000
MIN_GAIN = 0.01
Z_GAIN = 4.0
BATCHES = 30
STAGE1 = ("linear", "poly2", "spline")


@dataclass(frozen=True)
class Selection:
    """Outcome of a node's model choice: kind, held-out MSE per kind, gain z-scores, deciding stage."""

    kind: str
    mse: dict[str, float] = field(default_factory=dict)
    z: dict[str, float] = field(default_factory=dict)
    stage: int = 0


def choose_kind(
    X: np.ndarray, y: np.ndarray, candidates: tuple[str, ...], *, seed: int = 0, periods: np.ndarray | None = None
) -> Selection:
    """Pick a kind among `candidates` (simplest first) for y = f(X) + noise; `periods`: integer period codes."""
    if len(candidates) == 1:
        return Selection(candidates[0])
    rng = np.random.default_rng([seed, 0x5E1])
    mse: dict[str, float] = {}
    z: dict[str, float] = {}
    best = candidates[0]
    if "linear" in candidates:
        cheap = [k for k in STAGE1 if k in candidates]
        best, _ = _compare(_Sample(X, y, periods, CHEAP_ROWS, rng), cheap, mse, z)
        if best == "linear":
            return Selection(best, mse, z, 1)
    sample = _Sample(X, y, periods, MAX_CV_ROWS, rng)
    best, err = _compare(sample, [k for k in STAGE1 if k in candidates], mse, z)
    if "hgb" in candidates:
        test = np.flatnonzero(sample.folds == 0)[:HGB_TEST]
        train = np.flatnonzero(sample.folds != 0)
        train = np.sort(rng.choice(train, HGB_TRAIN, replace=False)) if len(train) > HGB_TRAIN else train
        with serial():  # OpenMP threads only contend on small shared machines
            hgb = make_mechanism("hgb", seed).fit(sample.X[train], sample.y[train])
            e_hgb = (sample.y[test] - hgb.predict(sample.X[test])) ** 2
        mse["hgb"] = float(e_hgb.mean())
        better = True
        if best in err:
            codes = None if sample.codes is None else sample.codes[test]
            z["hgb"], better = _clearly_better(err[best][test], e_hgb, codes)
        best = "hgb" if better else best
    return Selection(best, mse, z, 2)


class _Sample:
    """Up to `max_rows` rows (random, seeded) with their fold: contiguous runs of periods, or random."""

    def __init__(self, X: np.ndarray, y: np.ndarray, periods: np.ndarray | None, max_rows: int, rng):
        n = len(y)
        rows = np.sort(rng.choice(n, max_rows, replace=False)) if n > max_rows else np.arange(n)
        self.codes = None if periods is None else np.unique(periods[rows], return_inverse=True)[1]
        if self.codes is not None:
            folds = self.codes * FOLDS // (self.codes.max() + 1)
        else:
            folds = rng.permutation(len(rows)) % FOLDS
        by_fold = np.argsort(folds, kind="stable")  # folds become contiguous slices
        self.X, self.y, self.folds = X[rows][by_fold], y[rows][by_fold], folds[by_fold]
        if self.codes is not None:
            self.codes = self.codes[by_fold]


def _compare(
    sample: _Sample, kinds: list[str], mse: dict[str, float], z: dict[str, float]
) -> tuple[str, dict[str, np.ndarray]]:
    """Cross-validate `kinds` (simplest first) and apply the decision rule; record MSEs and z-scores."""
    err: dict[str, np.ndarray] = {}
    for kind in kinds:
        mech = make_mechanism(kind)
        assert isinstance(mech, BasisRidge)
        err[kind] = _cv_errors(mech.fit_basis(sample.X), sample.y, sample.folds, mech.alpha)
        mse[kind] = float(err[kind].mean())
    best = kinds[0]
    for kind in kinds[1:]:
        z[kind], better = _clearly_better(err[best], err[kind], sample.codes)
        best = kind if better else best
    return best, err


def _cv_errors(Phi: np.ndarray, y: np.ndarray, folds: np.ndarray, alpha: float) -> np.ndarray:
    """Out-of-fold squared errors of a (ridge) least-squares fit on the design Phi (rows sorted by fold)."""
    A = np.column_stack([np.ones(len(y)), Phi - Phi.mean(axis=0), y - y.mean()])
    bounds = np.searchsorted(folds, np.arange(FOLDS + 1))
    parts = [slice(bounds[f], bounds[f + 1]) for f in range(FOLDS)]
    grams = [A[p].T @ A[p] for p in parts]
    total = sum(grams)
    err = np.empty(len(y))
    for p, g in zip(parts, grams):
        S = total - g
        if p.stop == p.start or S[0, 0] == 0:
            continue
        m = S[0, 1:] / S[0, 0]
        C = S[1:, 1:] / S[0, 0] - np.outer(m, m)
        w, _ = ridge_solve(C[:-1, :-1], C[:-1, -1], int(S[0, 0]), alpha)
        pred = m[-1] + (A[p, 1:-1] - m[:-1]) @ w
        err[p] = (A[p, -1] - pred) ** 2
    return err


def _clearly_better(e_simple: np.ndarray, e_flex: np.ndarray, codes: np.ndarray | None) -> tuple[float, bool]:
    """(z-score of the flexible model's MSE gain, whether the gain passes MIN_GAIN and Z_GAIN)."""
    d = e_simple - e_flex
    gain = float(d.mean())
    if codes is None:
        se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.inf
    else:  # batch means over runs of consecutive periods (a ratio estimator: runs may hold unequal numbers of rows)
        per = np.bincount(codes - codes.min(), weights=d)
        rows = np.bincount(codes - codes.min()).astype(float)
        runs = np.array_split(np.arange(len(per)), min(BATCHES, len(per)))
        sums = np.array([per[r].sum() for r in runs])
        resid = sums - gain * np.array([rows[r].sum() for r in runs])
        k = len(runs)
        se = float(np.sqrt(k / (k - 1) * (resid**2).sum()) / len(d)) if k > 1 else np.inf
    z = gain / se if se > 0 else (np.inf if gain > 0 else 0.0)
    return z, bool(gain > Z_GAIN * se and gain > MIN_GAIN * float(e_simple.mean()))
