"""The bootstrap's settings (:class:`Bootstrap`: the interval keywords of every entry point, declared once) and its
resampling plans: rows (independent) or circular blocks of consecutive periods.

A block plan resamples whole periods (every unit of a period together, so correlation across regions
within a day is kept) in blocks of `block_length` consecutive periods, wrapping around the end
(circular block bootstrap, Politis & Romano 1992: every period has the same inclusion probability).
The block length comes from the data: Politis & White (2004) with the correction of Patton,
Politis & White (2009), applied to each node's fitted noise summed per period, largest value taken.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from math import ceil, sqrt
from typing import TYPE_CHECKING, Any

import numpy as np

from . import intervals

if TYPE_CHECKING:
    from .scm import FittedSCM

#: How resamples are drawn: 'auto' (blocks of periods when the SCM knows its time column, else rows), or forced.
RESAMPLING = ("auto", "block", "row")


def _flat_top(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Autocovariances (lags 0..M) and flat-top lag-window weights (lags 1..M) of a series, with the
    bandwidth M = 2 m_hat of Politis & White (2004): m_hat starts the first run of K_N lags whose
    autocorrelations are insignificant at 2 sqrt(log10(n) / n). None for a short or constant series."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 8:
        return None
    e = x - x.mean()
    k_n = max(5, ceil(sqrt(np.log10(n))))
    m_max = min(ceil(sqrt(n)) + k_n, n - 1)
    spec = np.fft.rfft(e, 2 * n)  # autocovariances by FFT: no BLAS calls, which stall on busy shared cores
    acov = np.fft.irfft(spec * spec.conj(), 2 * n)[: m_max + 1] / n
    if acov[0] <= 0:
        return None
    small = np.abs(acov[1:] / acov[0]) < 2.0 * sqrt(np.log10(n) / n)  # small[k-1]: lag k insignificant
    m_hat = next((m for m in range(1, m_max - k_n + 2) if small[m - 1 : m - 1 + k_n].all()), m_max)
    M = min(2 * m_hat, m_max)
    t = np.arange(1, M + 1) / M
    return acov[: M + 1], np.where(t <= 0.5, 1.0, 2.0 * (1.0 - t))


def optimal_block_length(x: np.ndarray) -> float:
    """Politis-White / Patton-Politis-White optimal block length of the circular block bootstrap for one series.

    b = (2 G^2 / D_CB)^(1/3) n^(1/3) with G = sum_k lambda(k/M) |k| R(k), D_CB = 4/3 g(0)^2 and
    g(0) = sum_k lambda(k/M) R(k) (flat-top window, see _flat_top); clipped to [1, min(3 sqrt(n), n / 3)].
    """
    n = len(x)
    ft = _flat_top(x)
    if ft is None:
        return 1.0
    acov, lam = ft
    lags = np.arange(1, len(lam) + 1)
    G = 2.0 * np.sum(lam * lags * acov[1:])
    g0 = acov[0] + 2.0 * np.sum(lam * acov[1:])
    if g0 <= 0 or G == 0:
        return 1.0
    b = (2.0 * G**2 / (4.0 / 3.0 * g0**2)) ** (1.0 / 3.0) * n ** (1.0 / 3.0)
    return float(min(max(b, 1.0), ceil(min(3 * sqrt(n), n / 3))))


def long_run_variance(x: np.ndarray) -> float:
    """Flat-top lag-window estimate (Politis & Romano 1995) of sum_k Cov(x_t, x_t+k), at least Var(x) / n.

    Centring at the sample mean lowers every sample autocovariance by about Var(mean) = LRV / n, so the
    window's sum W = 1 + 2 sum lambda_k lowers the estimate by the factor (1 - W / n): divided out here.
    """
    ft = _flat_top(x)
    if ft is None:
        return float(np.var(x))
    acov, lam = ft
    n = len(x)
    W = 1.0 + 2.0 * lam.sum()
    lrv = (acov[0] + 2.0 * np.sum(lam * acov[1:])) / max(1.0 - W / n, 0.5)
    return float(max(lrv, acov[0] / n))


def block_length_from_noise(noise: np.ndarray, periods: np.ndarray, n_periods: int) -> int:
    """Block length (periods) for the data: the largest optimal length over the noises averaged per period.

    `noise` is (rows, nodes); each column is centred and averaged within periods (all regions of a day
    together). The optimal length does not depend on the series' scale, so on a full panel the mean is the
    old per-period sum; on a panel whose units start late or miss days it keeps the changing number of rows
    per period from posing as a persistent level shift (a root's noise is its column, far from zero mean).
    """
    lengths = [1.0]
    rows = np.bincount(periods, minlength=n_periods).astype(float)
    present = rows > 0
    for j in range(noise.shape[1]):
        centred = noise[:, j] - noise[:, j].mean()
        series = (np.bincount(periods, weights=centred, minlength=n_periods)[present]) / rows[present]
        if np.ptp(series) > 0:
            lengths.append(optimal_block_length(series))
    return int(ceil(max(lengths)))


@dataclass(frozen=True, kw_only=True)
class Bootstrap:
    """The interval keywords of every engine entry point (estimate_ici, ici_from_scm, compute_ici, spend_response,
    optimise_budget, change_attribution), declared once with their defaults; checked before any work.

    Pass them as keywords (``n_bootstrap=200, seed=1``) or as one object (``bootstrap=Bootstrap(n_bootstrap=200)``;
    keywords given as well override its fields).

    n_bootstrap: resamples (0: no interval). seed: of the resamples and of any Monte Carlo simulation.
    resampling: 'auto' (blocks of consecutive periods when the SCM knows its time column, else rows), 'block' or
    'row'. block_length: periods per block (None: chosen from the data). interval: see ``intervals.METHODS``.
    level: coverage of the interval (0.95: 95 %).
    """

    n_bootstrap: int = 0
    seed: int = 0
    resampling: str = "auto"
    block_length: int | None = None
    interval: str = intervals.DEFAULT
    level: float = 0.95

    def __post_init__(self) -> None:
        if isinstance(self.n_bootstrap, bool) or not isinstance(self.n_bootstrap, int | np.integer):
            raise TypeError(f"n_bootstrap must be a whole number of resamples, got {self.n_bootstrap!r}")
        if self.n_bootstrap < 0:
            raise ValueError(f"n_bootstrap={self.n_bootstrap} must be 0 (no interval) or more")
        if self.resampling not in RESAMPLING:
            raise ValueError(f"unknown resampling {self.resampling!r}: use one of {', '.join(map(repr, RESAMPLING))}")
        if self.block_length is not None and not int(self.block_length) >= 1:
            raise ValueError(f"block_length={self.block_length} must be at least 1 period (or None: from the data)")
        if self.interval not in intervals.METHODS:
            raise ValueError(
                f"unknown interval {self.interval!r}: use one of {', '.join(map(repr, intervals.METHODS))}"
            )
        if not 0.0 < float(self.level) < 1.0:
            raise ValueError(f"level={self.level} must be between 0 and 1 (0.95: a 95 % interval)")

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def of(cls, function: str, bootstrap: Bootstrap | None, options: Mapping[str, Any]) -> Bootstrap:
        """The settings of one call of ``function`` (named in the message for an unknown keyword): ``bootstrap``
        (default: every field's default) with the keywords in ``options`` replacing its fields."""
        unknown = sorted(set(options) - cls.names())
        if unknown:
            raise TypeError(f"{function}() got unexpected keyword argument(s): {', '.join(unknown)}")
        base = cls() if bootstrap is None else bootstrap
        return replace(base, **options) if options else base

    @classmethod
    def split(
        cls, function: str, bootstrap: Bootstrap | None, options: Mapping[str, Any]
    ) -> tuple[Bootstrap, dict[str, Any]]:
        """(settings from the interval keywords among ``options``, the other keywords)."""
        names = cls.names()
        ours = {k: v for k, v in options.items() if k in names}
        return cls.of(function, bootstrap, ours), {k: v for k, v in options.items() if k not in names}

    @property
    def active(self) -> bool:
        """Whether intervals are asked for."""
        return self.n_bootstrap > 0

    def rng(self, *stream: int) -> np.random.Generator:
        """The resampling generator of one function (``stream`` keeps functions' draws apart)."""
        return np.random.default_rng([self.seed, *stream])

    def facts(self, plan: Plan, n_degenerate: int) -> dict[str, Any]:
        """How the intervals were obtained (fields of :class:`result.Facts`)."""
        return {
            "n_bootstrap": int(self.n_bootstrap),
            "resampling": plan.kind,
            "block_length": plan.block_length if plan.kind == "block" else None,
            "interval": self.interval,
            "level": float(self.level),
            "n_degenerate_resamples": int(n_degenerate),
        }


def resampling_plan(
    scm: FittedSCM, order: list[Any], resampling: str = "auto", block_length: int | None = None
) -> Plan:
    """Rows, or circular blocks of periods ('auto': blocks when the SCM knows each row's period)."""
    if resampling not in RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}: use one of {', '.join(map(repr, RESAMPLING))}")
    n = len(scm.data)
    if resampling == "row" or (resampling == "auto" and scm.periods is None):
        return Plan(n)
    if scm.periods is None or scm.n_periods is None:
        raise ValueError("resampling='block' needs each row's period: fit the SCM with time_column=<column>")
    T = scm.n_periods
    if block_length is None:
        noise = np.column_stack([scm.noise[nd] for nd in order])
        block_length = block_length_from_noise(noise, scm.periods, T)
    elif not 1 <= int(block_length) <= T:
        raise ValueError(f"block_length={block_length} must be between 1 and the number of periods ({T})")
    return Plan(n, scm.periods, T, int(block_length))


@dataclass(frozen=True)
class Plan:
    """How to draw resamples: `periods` None means rows; else circular blocks of `block_length` periods."""

    n_rows: int
    periods: np.ndarray | None = None
    n_periods: int = 0
    block_length: int = 1

    @property
    def kind(self) -> str:
        return "row" if self.periods is None else "block"

    @property
    def df(self) -> float | None:
        """Degrees of freedom of the bootstrap variance: 1.5 periods / block length for circular blocks (Politis
        & White's D_CB), None for rows (no correction)."""
        return None if self.periods is None else 1.5 * self.n_periods / self.block_length

    @property
    def n_units(self) -> int:
        """Number of resampled units: rows, or periods."""
        return self.n_rows if self.periods is None else self.n_periods

    def unit_counts(self, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
        """(B, n_units) counts: how often each unit (row or period) enters each resample."""
        if self.periods is None:
            n = self.n_rows
            return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_bootstrap)]).astype(float)
        T, L = self.n_periods, self.block_length
        n_blocks = ceil(T / L)
        starts = rng.integers(0, T, size=(n_bootstrap, n_blocks))
        idx = ((starts[:, :, None] + np.arange(L)) % T).reshape(n_bootstrap, -1)[:, :T]
        return np.stack([np.bincount(r, minlength=T) for r in idx]).astype(float)

    def row_counts_chunks(
        self, n_bootstrap: int, chunk: int, rng: np.random.Generator
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Row plan only: (start, stop, counts[B, stop-start]) so that each resample's row counts over all
        chunks are Multinomial(n, uniform): chunk totals first, then uniform draws within a chunk
        (no B x n matrix for a million rows)."""
        n = self.n_rows
        starts = np.arange(0, n, chunk)
        sizes = np.minimum(chunk, n - starts)
        totals = rng.multinomial(n, sizes / n, size=n_bootstrap)  # (B, C)
        for c, (s, size) in enumerate(zip(starts, sizes)):
            counts = np.empty((n_bootstrap, size), dtype=float)
            for b in range(n_bootstrap):
                counts[b] = np.bincount(rng.integers(0, size, totals[b, c]), minlength=size)
            yield int(s), int(s + size), counts

    def resamples(self, n_bootstrap: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """Row indices (repeats included) of n_bootstrap resamples, drawn one at a time."""
        for _ in range(n_bootstrap):
            yield self.rows(self.unit_counts(1, rng)[0])

    def rows(self, unit_counts: np.ndarray) -> np.ndarray:
        """Row indices of one resample from its unit counts (repeats included)."""
        if self.periods is None:
            return np.repeat(np.arange(self.n_rows), unit_counts.astype(np.int64))
        by_period = np.argsort(self.periods, kind="stable")
        bounds = np.searchsorted(self.periods[by_period], np.arange(self.n_periods + 1))
        reps = unit_counts.astype(np.int64)
        return np.concatenate([np.tile(by_period[bounds[t] : bounds[t + 1]], reps[t]) for t in np.flatnonzero(reps)])
