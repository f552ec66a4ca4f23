"""Bootstrap of ICI shares: rows or circular blocks of periods (see resampling.Plan).

Linear models: a resample is a vector of counts over units (rows or periods); every node's OLS refit
needs only the weighted moment matrix of [1, Z], so all resamples come from one pass over the data.
Rows: chunk by chunk, counts (B x rows) against row-wise products, no copy of the data per resample.
Periods: per-period sums of the products first (T x m), then counts (B x T) @ sums. The same per-unit
sums give the delete-a-block jackknife used by BCa intervals. Nonlinear models: every mechanism is
refitted (same kinds) on each resample's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from ._threads import serial
from .effects import linear_ici_from_cov
from .resampling import Plan, long_run_variance
from .scm import FittedSCM

CHUNK_BYTES = 128 * 2**20  # size of the per-chunk outer-product block
JACKKNIFE_GROUPS = 100  # delete-a-group jackknife with row resampling


class Moments:
    """Products of [1, Z] (upper triangle) for standardized node columns Z, chunk by chunk."""

    def __init__(self, Z: np.ndarray):
        self.Z = Z
        n, d = Z.shape
        self.k = d + 1
        self.iu = np.triu_indices(self.k)
        self.m = len(self.iu[0])
        self.chunk = int(max(256, min(n, CHUNK_BYTES // (8 * self.m))))
        self._Zt = np.empty((self.k, self.chunk))
        self._R = np.empty((self.m, self.chunk))

    def products(self, s: int, e: int) -> np.ndarray:
        """(m, e - s) products of rows s..e (built row-block by row-block, no gathers)."""
        r, k = e - s, self.k
        self._Zt[0, :r] = 1.0
        self._Zt[1:, :r] = self.Z[s:e].T
        off = 0
        for i in range(k):
            np.multiply(self._Zt[i : i + 1, :r], self._Zt[i:, :r], out=self._R[off : off + k - i, :r])
            off += k - i
        return self._R[:, :r]

    def unit_sums(self, codes: np.ndarray, n_units: int) -> np.ndarray:
        """(n_units, m) sums of the products over the rows of each unit (period or row group)."""
        out = np.zeros((n_units, self.m))
        n = len(self.Z)
        for s in range(0, n, self.chunk):
            e = min(n, s + self.chunk)
            ind = scipy.sparse.csr_matrix((np.ones(e - s), (codes[s:e], np.arange(e - s))), shape=(n_units, e - s))
            out += ind @ self.products(s, e).T
        return out

    def row_resample_sums(self, plan: Plan, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
        """(B, m) sums over multinomial row resamples, one GEMM per chunk."""
        acc = np.zeros((self.m, n_bootstrap))
        for s, e, counts in plan.row_counts_chunks(n_bootstrap, self.chunk, rng):
            acc += self.products(s, e) @ counts.T
        return acc.T

    def covariances(self, sums: np.ndarray) -> np.ndarray:
        """Covariance matrices (B, d, d) of Z from (B, m) product sums (entry 0 counts the rows)."""
        G = np.empty((len(sums), self.k, self.k))
        means = sums / sums[:, :1]
        G[:, self.iu[0], self.iu[1]] = means
        G[:, self.iu[1], self.iu[0]] = means
        mu = G[:, 0, 1:]
        return G[:, 1:, 1:] - mu[:, :, None] * mu[:, None, :]


@dataclass(frozen=True)
class Draws:
    """Bootstrap shares (B, d) with what the interval needs: jackknife shares (BCa), the ratio of the
    flat-top long-run standard error to the bootstrap's (calibration), degrees of freedom of the
    bootstrap variance (1.5 periods / block length for circular blocks, Politis & White's D_CB)."""

    shares: np.ndarray
    n_degenerate: int
    jackknife: np.ndarray | None = None
    se_ratio: np.ndarray | None = None
    df: float | None = None


def linear_bootstrap(
    scm: FittedSCM,
    order: list[Any],
    target: Any,
    plan: Plan,
    n_bootstrap: int,
    rng: np.random.Generator,
    jackknife: bool = False,
) -> Draws:
    """Shares of B resamples of a linear SCM from weighted moment matrices (one pass over the data);
    `jackknife`: also the delete-a-group jackknife (for BCa; a second pass with row resampling)."""
    X = np.array(scm.data[order].to_numpy(dtype=float), dtype=float, copy=True)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    X -= mu
    X /= np.where(sd > 0, sd, 1.0)
    mom = Moments(X)

    def shares_of(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ici, degenerate = linear_ici_from_cov(mom.covariances(sums), order, scm.parents, target)
        return _shares(ici), degenerate

    # small data: single-threaded BLAS is as fast and immune to thread contention
    with serial() if len(X) < 200_000 else nullcontext():
        unit = None
        if plan.periods is None:
            sums = mom.row_resample_sums(plan, n_bootstrap, rng)
            if jackknife:
                unit = mom.unit_sums(rng.integers(0, JACKKNIFE_GROUPS, len(X)), JACKKNIFE_GROUPS)
        else:
            unit = mom.unit_sums(plan.periods, plan.n_periods)
            sums = plan.unit_counts(n_bootstrap, rng) @ unit
    del X
    boot, degenerate = shares_of(sums)
    jack = shares_of(_delete_group_sums(unit, plan))[0] if jackknife and unit is not None else None
    if plan.periods is None or unit is None:
        return Draws(boot, int(degenerate.sum()), jack)
    se = np.sqrt(_influence_lrv(unit, shares_of) / plan.n_periods)
    sd = np.nanstd(boot, axis=0, ddof=1)
    ratio = np.where(sd > 0, se / np.where(sd > 0, sd, 1.0), 1.0)
    return Draws(boot, int(degenerate.sum()), jack, ratio, 1.5 * plan.n_periods / plan.block_length)


def _influence_lrv(unit: np.ndarray, shares_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Long-run variance (flat-top window) of each share's influence series over periods.

    The shares are a smooth function f of the summed moments S = sum_t P_t; the influence of period t
    is u_t = T * grad f . (P_t - n_t S / n) (central differences), so share - truth ~ mean_t u_t and
    Var(share) ~ LRV(u) / T. Used to calibrate the block bootstrap's scale, which is biased low by the
    block truncation and the centring (about -L/T) of its variance (Kunsch 1989).
    """
    total = unit.sum(axis=0)
    T = len(unit)
    delta = T * (unit - np.outer(unit[:, 0] / total[0], total))
    h = 1e-4
    up, _ = shares_of(total + h * delta)
    down, _ = shares_of(total - h * delta)
    u = (up - down) / (2 * h)
    return np.array([long_run_variance(u[:, j]) for j in range(u.shape[1])])


def _delete_group_sums(unit: np.ndarray, plan: Plan) -> np.ndarray:
    """Jackknife sums: the total minus one group (row groups; or non-overlapping blocks of periods)."""
    if plan.periods is not None:
        starts = np.arange(0, plan.n_periods, plan.block_length)
        unit = np.add.reduceat(unit, starts, axis=0)
    unit = unit[unit[:, 0] > 0]
    return unit.sum(axis=0) - unit


def refit_bootstrap(
    scm: FittedSCM,
    order: list[Any],
    plan: Plan,
    n_bootstrap: int,
    rng: np.random.Generator,
    estimate: Callable[[FittedSCM, int], np.ndarray],
) -> Draws:
    """Refit every mechanism (same kinds) on each resample and re-estimate ICI (no calibration: no influence
    series without refits; the t factor for few blocks still applies)."""
    out, degenerate = statistic_draws(scm, order, plan, n_bootstrap, rng, estimate)
    return Draws(_shares(out), degenerate, df=plan.df)


def statistic_draws(
    scm: FittedSCM,
    order: list[Any],
    plan: Plan,
    n_bootstrap: int,
    rng: np.random.Generator,
    statistic: Callable[[FittedSCM, int], np.ndarray],
) -> tuple[np.ndarray, int]:
    """(B, k) values of `statistic(refit, b)` on each resample b's refitted SCM, and the number of degenerate
    resamples."""
    out, degenerate = [], 0
    for b, (refit, flat) in enumerate(refits(scm, order, plan, n_bootstrap, rng)):
        degenerate += flat
        out.append(np.asarray(statistic(refit, b), dtype=float))
    return np.array(out), degenerate


def refits(
    scm: FittedSCM, order: list[Any], plan: Plan, n_bootstrap: int, rng: np.random.Generator
) -> Iterator[tuple[FittedSCM, bool]]:
    """The SCM on `order` refitted (same kinds) on each of n_bootstrap resamples drawn by `plan`, with a flag
    saying whether some node was constant in that resample (its fit is degenerate)."""
    sub = scm.restricted(order)
    X = sub.data.to_numpy(dtype=float)
    for rows in plan.resamples(n_bootstrap, rng):
        yield sub.refit(rows), bool((np.ptp(X[rows], axis=0) == 0).any())


def _shares(ici: np.ndarray) -> np.ndarray:
    total = ici.sum(axis=1, keepdims=True)
    return 100.0 * ici / np.where(total > 0, total, np.nan)
