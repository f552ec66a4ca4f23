"""Reference cases with a known truth, used by tests and benchmarks.

article_case: the linear marketing example of the seed article (analytic shares).
saturating_case: a nonlinear variant (saturating spend curves, a clicks x clicks interaction)
whose true shares are computed by Gauss-Hermite quadrature over the six Gaussian noises.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd

ROOTS = ["Demand", "TV spend", "Social spend"]
EDGES = [(r, c) for r in ROOTS for c in ("Organic clicks", "Social clicks")] + [
    ("Organic clicks", "Revenue"),
    ("Social clicks", "Revenue"),
]
TARGET = "Revenue"
ARTICLE_TRUTH = {
    "Demand": 30.14,
    "TV spend": 17.50,
    "Social spend": 24.67,
    "Organic clicks": 0.17,
    "Social clicks": 27.34,
    "Revenue": 0.17,
}


def article_case(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Simulate the article's linear case (seed-notes), n rows."""
    rng = np.random.default_rng(seed)
    d = rng.normal(100_000, 25_000, n)
    tv = rng.normal(100_000, 20_000, n)
    so = rng.normal(100_000, 25_000, n)
    org = 0.75 * d + 0.50 * tv + 0.25 * so + rng.normal(0, 2_000, n)
    soc = 0.30 * d + 0.50 * tv + 0.70 * so + rng.normal(100_000, 25_000, n)
    rev = org + soc + rng.normal(0, 2_000, n)
    return pd.DataFrame(
        {"Demand": d, "TV spend": tv, "Social spend": so, "Organic clicks": org, "Social clicks": soc, "Revenue": rev}
    )


def article_truth() -> dict[str, float]:
    """Exact population shares of the article case from a_j^2 Var(N_j) (matches ARTICLE_TRUTH)."""
    var = {
        "Demand": 25e3**2,
        "TV spend": 20e3**2,
        "Social spend": 25e3**2,
        "Organic clicks": 2e3**2,
        "Social clicks": 25e3**2,
        "Revenue": 2e3**2,
    }
    a = {
        "Demand": 0.75 + 0.30,
        "TV spend": 1.0,
        "Social spend": 0.95,
        "Organic clicks": 1.0,
        "Social clicks": 1.0,
        "Revenue": 1.0,
    }
    ici = {k: a[k] ** 2 * var[k] for k in var}
    tot = sum(ici.values())
    return {k: 100 * v / tot for k, v in ici.items()}


# ---- nonlinear case: means and standard deviations of the six Gaussian noises
SAT_NOISE = {
    "Demand": (100.0, 20.0),
    "TV spend": (100.0, 30.0),
    "Social spend": (100.0, 30.0),
    "Organic clicks": (0.0, 8.0),
    "Social clicks": (0.0, 12.0),
    "Revenue": (0.0, 15.0),
}


def saturating_mechanisms(n: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """True structural equations of the nonlinear case, applied to noise arrays (broadcasting)."""
    d, tv, so = n["Demand"], n["TV spend"], n["Social spend"]
    org = 0.5 * d + 60.0 * (1.0 - np.exp(-tv / 80.0)) + n["Organic clicks"]
    soc = 0.2 * d + 80.0 * (1.0 - np.exp(-so / 60.0)) + 20.0 * (1.0 - np.exp(-tv / 80.0)) + n["Social clicks"]
    rev = org + soc + 0.01 * org * soc + n["Revenue"]
    return {
        "Demand": d,
        "TV spend": tv,
        "Social spend": so,
        "Organic clicks": org,
        "Social clicks": soc,
        "Revenue": rev,
    }


def saturating_case(n: int = 30_000, seed: int = 0) -> pd.DataFrame:
    """Simulate the nonlinear case, n rows."""
    rng = np.random.default_rng(seed)
    noise = {k: rng.normal(m, s, n) for k, (m, s) in SAT_NOISE.items()}
    return pd.DataFrame(saturating_mechanisms(noise))[list(SAT_NOISE)]


def saturating_truth(k: int = 16) -> dict[str, float]:
    """True ICI shares (%) of Revenue by k-point Gauss-Hermite quadrature per noise (k^6 grid).

    E[Y | N_S] is the quadrature average over the other axes; v(S) its weighted variance;
    shares are exact Shapley values of v over the 64 subsets. The error shrinks fast with k
    (smooth integrand): compare k=12, 16, 20 to see it.
    """
    nodes = list(SAT_NOISE)
    x, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / w.sum()
    grids = np.meshgrid(*[x for _ in nodes], indexing="ij", sparse=True)
    noise = {nd: SAT_NOISE[nd][0] + SAT_NOISE[nd][1] * g for nd, g in zip(nodes, grids)}
    Y = np.broadcast_to(saturating_mechanisms(noise)["Revenue"], (k,) * len(nodes))
    mean = _contract(Y, w, range(len(nodes)))
    d = len(nodes)
    v = {}
    for mask in range(1 << d):
        keep = [i for i in range(d) if mask >> i & 1]
        cond = _contract(Y, w, [i for i in range(d) if i not in keep])  # E[Y | N_keep], on the keep axes
        sq = cond**2
        v[mask] = float(_contract(sq, w, range(sq.ndim))) - float(mean) ** 2
    phi = np.zeros(d)
    for j in range(d):
        for mask in range(1 << d):
            if mask >> j & 1:
                continue
            s = bin(mask).count("1")
            phi[j] += factorial(s) * factorial(d - s - 1) / factorial(d) * (v[mask | 1 << j] - v[mask])
    return {nd: 100 * p / phi.sum() for nd, p in zip(nodes, phi)}


def _contract(arr: np.ndarray, w: np.ndarray, axes) -> np.ndarray:
    """Weighted sum of arr over the given axes (quadrature expectation), highest axis first."""
    out = arr
    for ax in sorted(axes, reverse=True):
        out = np.tensordot(out, w, axes=([ax], [0]))
    return out
