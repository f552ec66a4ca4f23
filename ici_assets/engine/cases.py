"""Reference cases with a known truth, used by the demo, tests and benchmarks.

The article's linear data-generating process is defined once, as data (ARTICLE_ROOTS,
ARTICLE_EQUATIONS, keyed by the demo's lower-case node names); `LinearANM` simulates any such
process and computes its analytic shares a_j^2 Var(N_j) with the engine's one total-effects
function. article_case: the article's case with its display names ("Demand", "TV spend", ...).
saturating_case: a nonlinear variant (saturating spend curves, a clicks x clicks interaction)
whose true shares are computed by Gauss-Hermite quadrature over the six Gaussian noises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .effects import total_effects
from .forward import shapley_values

Roots = Mapping[str, tuple[float, float]]  # node -> (mean, sd)
Equations = Mapping[str, tuple[Mapping[str, float], float, float]]  # node -> (coefs on parents, noise mean, sd)

# The article's SCM in article units (seed notes). Roots: (mean, sd).
ARTICLE_ROOTS: dict[str, tuple[float, float]] = {
    "demand": (100_000.0, 25_000.0),
    "tv_spend": (100_000.0, 20_000.0),
    "social_spend": (100_000.0, 25_000.0),
}
# Non-roots: (coefficients on parents, noise mean, noise sd), in topological order.
ARTICLE_EQUATIONS: dict[str, tuple[dict[str, float], float, float]] = {
    "organic_clicks": ({"demand": 0.75, "tv_spend": 0.50, "social_spend": 0.25}, 0.0, 2_000.0),
    "social_clicks": ({"demand": 0.30, "tv_spend": 0.50, "social_spend": 0.70}, 100_000.0, 25_000.0),
    "revenue": ({"organic_clicks": 1.0, "social_clicks": 1.0}, 0.0, 2_000.0),
}
ARTICLE_LABELS = {
    "demand": "Demand",
    "tv_spend": "TV spend",
    "social_spend": "Social spend",
    "organic_clicks": "Organic clicks",
    "social_clicks": "Social clicks",
    "revenue": "Revenue",
}

NoiseFn = Callable[[int, int, np.random.Generator], np.ndarray]  # (n rows, d nodes, rng) -> standard noises


@dataclass(frozen=True)
class LinearANM:
    """A linear additive-noise SCM given as data: roots (mean, sd) and equations (coefs, noise mean, sd)."""

    roots: Roots
    equations: Equations
    target: str

    @property
    def nodes(self) -> list[str]:
        """Roots, then non-roots in the order given (a topological order)."""
        return [*self.roots, *self.equations]

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(p, child) for child, (coefs, _, _) in self.equations.items() for p in coefs]

    def noise(self) -> dict[str, tuple[float, float]]:
        """(mean, sd) of every node's own noise (a root's noise is the root)."""
        out = dict(self.roots)
        out.update({n: (mu, sd) for n, (_, mu, sd) in self.equations.items()})
        return out

    def truth(self) -> dict[str, float]:
        """Population ICI shares (%) of the target: a_j^2 Var(N_j) with a_j the total effect."""
        coefs = {n: dict(c) for n, (c, _, _) in self.equations.items()}
        order = self.nodes
        a = total_effects(order, coefs, self.target)
        ici = {n: a[n] ** 2 * sd**2 for n, (_, sd) in self.noise().items()}
        total = sum(ici.values())
        return {n: 100.0 * ici[n] / total for n in order if a[n] != 0.0}

    def simulate(self, n: int, seed: int | np.random.Generator = 0, noise: NoiseFn | None = None) -> pd.DataFrame:
        """n rows. Noises are N(mean, sd); `noise` may supply the standardized noises (n, d) instead
        (e.g. AR(1) series with unit stationary variance), d in `nodes` order."""
        rng = np.random.default_rng(seed)
        nodes = self.nodes
        z = noise(n, len(nodes), rng) if noise is not None else None
        vals: dict[str, np.ndarray] = {}
        for i, (node, (mu, sd)) in enumerate(self.noise().items()):
            own = rng.normal(mu, sd, n) if z is None else mu + sd * z[:, i]
            if node in self.roots:
                vals[node] = own
                continue
            coefs = self.equations[node][0]
            vals[node] = sum(b * vals[p] for p, b in coefs.items()) + own
        return pd.DataFrame(vals, columns=nodes)

    def renamed(self, labels: Mapping[str, str]) -> LinearANM:
        """The same process with nodes renamed by `labels`."""
        return LinearANM(
            {labels[n]: v for n, v in self.roots.items()},
            {labels[n]: ({labels[p]: b for p, b in c.items()}, mu, sd) for n, (c, mu, sd) in self.equations.items()},
            labels[self.target],
        )


ARTICLE = LinearANM(ARTICLE_ROOTS, ARTICLE_EQUATIONS, "revenue")
_ARTICLE_DISPLAY = ARTICLE.renamed(ARTICLE_LABELS)
ROOTS = list(_ARTICLE_DISPLAY.roots)
EDGES = _ARTICLE_DISPLAY.edges
TARGET = _ARTICLE_DISPLAY.target
ARTICLE_TRUTH = {  # the seed notes' rounded figures; article_truth() gives them exactly
    "Demand": 30.14,
    "TV spend": 17.50,
    "Social spend": 24.67,
    "Organic clicks": 0.17,
    "Social clicks": 27.34,
    "Revenue": 0.17,
}


def article_case(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Simulate the article's linear case (display names), n rows."""
    return _ARTICLE_DISPLAY.simulate(n, seed)


def article_truth() -> dict[str, float]:
    """Exact population shares of the article case (display names)."""
    return _ARTICLE_DISPLAY.truth()


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
    mean = float(_contract(Y, w, range(len(nodes))))
    d = len(nodes)
    v = np.empty(1 << d)
    for mask in range(1 << d):
        keep = [i for i in range(d) if mask >> i & 1]
        cond = _contract(Y, w, [i for i in range(d) if i not in keep])  # E[Y | N_keep], on the keep axes
        sq = cond**2
        v[mask] = float(_contract(sq, w, range(sq.ndim))) - mean**2
    phi = shapley_values(v)
    return {nd: 100 * p / phi.sum() for nd, p in zip(nodes, phi)}


def _contract(arr: np.ndarray, w: np.ndarray, axes: Any) -> np.ndarray:
    """Weighted sum of arr over the given axes (quadrature expectation), highest axis first."""
    out = arr
    for ax in sorted(axes, reverse=True):
        out = np.tensordot(out, w, axes=([ax], [0]))
    return out
