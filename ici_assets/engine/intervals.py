"""Bootstrap confidence intervals for shares: percentile, basic, normal and BCa.

Every interval is clipped to [0, 100] and widened, if needed, to contain the point estimate (a
share's interval that misses its own estimate says the resamples are biased, not that the estimate
is impossible). The default is chosen by the coverage study in benchmarks/bench_coverage.py.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

METHODS = ("percentile", "basic", "normal", "bca")
DEFAULT = "bca"


def interval(
    boot: np.ndarray,
    estimate: np.ndarray,
    method: str = DEFAULT,
    jackknife: np.ndarray | None = None,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per column of `boot` (B, d) around `estimate` (d,); `jackknife` (J, d) for BCa's acceleration."""
    if method not in METHODS:
        raise ValueError(f"unknown interval method {method!r}: use one of {', '.join(METHODS)}")
    boot = boot[np.isfinite(boot).all(axis=1)]
    alpha = (1.0 - level) / 2.0
    if method == "percentile":
        low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    elif method == "basic":
        q_lo, q_hi = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
        low, high = 2 * estimate - q_hi, 2 * estimate - q_lo
    elif method == "normal":
        half = stats.norm.ppf(1.0 - alpha) * boot.std(axis=0, ddof=1)
        low, high = estimate - half, estimate + half
    else:
        low, high = _bca(boot, estimate, jackknife, alpha)
    low = np.clip(np.minimum(low, estimate), 0.0, 100.0)
    high = np.clip(np.maximum(high, estimate), 0.0, 100.0)
    return low, high


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
