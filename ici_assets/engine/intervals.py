"""Bootstrap confidence intervals for shares: percentile, basic, normal, BCa and calibrated.

calibrated: the percentile interval with its two arms (estimate to each bound) stretched, for
block resampling, by max(1, se_LRV / sd_boot) x t_{df} / z, where se_LRV is the flat-top long-run
standard error of the share's influence series (linear SCMs) and df = 1.5 x periods / block length
the degrees of freedom of the circular block bootstrap's variance (its relative variance is 4/3 L/T).
The block bootstrap's variance is biased low (block truncation, centring); with few blocks its
scale is also uncertain: the first factor corrects the bias, the second the uncertainty. With row
resampling both factors are 1 and calibrated equals percentile.

Every interval is widened, if needed, to contain the point estimate (a share's interval that misses
its own estimate says the resamples are biased, not that the estimate is impossible) and clipped to
`bounds` ([0, 100] for shares; None for amounts such as a response or a contribution).
The default is chosen by the coverage study in benchmarks/bench_coverage.py.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

METHODS = ("calibrated", "percentile", "basic", "normal", "bca")
DEFAULT = "calibrated"
MAX_STRETCH = 3.0


def interval(
    boot: np.ndarray,
    estimate: np.ndarray,
    method: str = DEFAULT,
    jackknife: np.ndarray | None = None,
    level: float = 0.95,
    se_ratio: np.ndarray | None = None,
    df: float | None = None,
    bounds: tuple[float, float] | None = (0.0, 100.0),
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per column of `boot` (B, d) around `estimate` (d,); `jackknife` (J, d) for BCa's
    acceleration; `se_ratio` (d,) and `df` for the calibrated interval; `bounds` clip (None: no clipping)."""
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}: use one of {', '.join(METHODS)}")
    boot = boot[np.isfinite(boot).all(axis=1)]
    alpha = (1.0 - level) / 2.0
    if method in ("percentile", "calibrated"):
        low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        if method == "calibrated":
            k = stretch(len(estimate), level, se_ratio, df)
            low, high = estimate - k * (estimate - low), estimate + k * (high - estimate)
    elif method == "basic":
        q_lo, q_hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        low, high = 2 * estimate - q_hi, 2 * estimate - q_lo
    elif method == "normal":
        half = stats.norm.ppf(1.0 - alpha) * boot.std(axis=0, ddof=1)
        low, high = estimate - half, estimate + half
    else:
        low, high = _bca(boot, estimate, jackknife, alpha)
    low, high = np.minimum(low, estimate), np.maximum(high, estimate)
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    return low, high


def stretch(d: int, level: float, se_ratio: np.ndarray | None, df: float | None) -> np.ndarray:
    """Calibration factor per share: max(1, se_ratio) (at most MAX_STRETCH) times t_{df} / z."""
    k = np.ones(d) if se_ratio is None else np.clip(np.nan_to_num(se_ratio, nan=1.0), 1.0, MAX_STRETCH)
    if df is not None:
        q = 1.0 - (1.0 - level) / 2.0
        k = k * stats.t.ppf(q, max(df, 1.0)) / stats.norm.ppf(q)
    return k


def _bca(
    boot: np.ndarray, estimate: np.ndarray, jackknife: np.ndarray | None, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected and accelerated percentile interval (Efron 1987), column by column.

    z0 from the share of resamples below the estimate (ties count half); acceleration from the
    jackknife's skewness (0 without a jackknife: the bias-corrected percentile interval).
    """
    B = len(boot)
    below = (boot < estimate).sum(axis=0) + 0.5 * (boot == estimate).sum(axis=0)
    z0 = stats.norm.ppf(np.clip(below / B, 1.0 / (B + 1), B / (B + 1)))
    if jackknife is not None and len(jackknife) > 2:
        dev = jackknife.mean(axis=0) - jackknife
        den = 6.0 * np.sum(dev**2, axis=0) ** 1.5
        acc = np.where(den > 0, np.sum(dev**3, axis=0) / np.where(den > 0, den, 1.0), 0.0)
    else:
        acc = np.zeros(boot.shape[1])
    out = []
    for z in (stats.norm.ppf(alpha), stats.norm.ppf(1.0 - alpha)):
        adj = z0 + (z0 + z) / (1.0 - acc * (z0 + z))
        q = stats.norm.cdf(adj)
        out.append(np.array([np.quantile(boot[:, j], q[j]) for j in range(boot.shape[1])]))
    return out[0], out[1]
