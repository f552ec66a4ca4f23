"""Reference cases with known answers for the decision functions (response, attribution, budget).

SpendCase: saturating spend -> clicks -> revenue. TV and social spend are log-normal; clicks respond
as cap x (1 - exp(-spend / scale)) plus demand; revenue is linear in clicks. Every expectation the
decision functions estimate has an exact value here: response curves E[revenue | do(spend = x)],
the best split of a budget (equal marginal returns, by bisection), and the Shapley attribution of
the change in mean revenue between two parameter sets (all 64 hybrid models evaluated exactly).
`linear_change_truth` gives the same attribution for two LinearANMs (means propagated exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from .cases import LinearANM
from .forward import shapley_values

SPEND_NODES = ["demand", "tv_spend", "social_spend", "search_clicks", "social_clicks", "revenue"]
SPEND_EDGES = [
    ("demand", "search_clicks"),
    ("tv_spend", "search_clicks"),
    ("demand", "social_clicks"),
    ("social_spend", "social_clicks"),
    ("search_clicks", "revenue"),
    ("social_clicks", "revenue"),
]
# which parameters belong to which node's distribution (roots) or mechanism (non-roots)
_OWNER = {
    "demand_mean": "demand",
    "demand_sd": "demand",
    "tv_mean": "tv_spend",
    "tv_logsd": "tv_spend",
    "social_mean": "social_spend",
    "social_logsd": "social_spend",
    "search_per_demand": "search_clicks",
    "search_cap": "search_clicks",
    "search_scale": "search_clicks",
    "search_sd": "search_clicks",
    "social_per_demand": "social_clicks",
    "social_cap": "social_clicks",
    "social_scale": "social_clicks",
    "social_sd": "social_clicks",
    "revenue_base": "revenue",
    "revenue_per_search": "revenue",
    "revenue_per_social": "revenue",
    "revenue_sd": "revenue",
}
_GH = np.polynomial.hermite_e.hermegauss(40)


def _exp_mean(mean: float, logsd: float, scale: float) -> float:
    """E[exp(-S / scale)] for log-normal S with the given mean and log-sd (Gauss-Hermite, 40 points)."""
    x, w = _GH
    s = mean * np.exp(logsd * x - logsd**2 / 2)
    return float(np.sum(w * np.exp(-s / scale)) / w.sum())


@dataclass(frozen=True)
class SpendCase:
    """Saturating spend -> clicks -> revenue, per row (a region-day, say). Spends are log-normal (mean, log-sd)."""

    demand_mean: float = 100.0
    demand_sd: float = 15.0
    tv_mean: float = 100.0
    tv_logsd: float = 0.5
    social_mean: float = 60.0
    social_logsd: float = 0.5
    search_per_demand: float = 4.0
    search_cap: float = 300.0
    search_scale: float = 100.0
    search_sd: float = 30.0
    social_per_demand: float = 1.0
    social_cap: float = 400.0
    social_scale: float = 60.0
    social_sd: float = 40.0
    revenue_base: float = 20.0
    revenue_per_search: float = 2.0
    revenue_per_social: float = 1.5
    revenue_sd: float = 80.0

    def simulate(self, n: int, seed: int | np.random.Generator = 0) -> pd.DataFrame:
        """n independent rows (columns SPEND_NODES)."""
        rng = np.random.default_rng(seed)
        demand = rng.normal(self.demand_mean, self.demand_sd, n)
        tv = self.tv_mean * np.exp(rng.normal(-(self.tv_logsd**2) / 2, self.tv_logsd, n))
        social = self.social_mean * np.exp(rng.normal(-(self.social_logsd**2) / 2, self.social_logsd, n))
        search = self.search_clicks(demand, tv) + rng.normal(0, self.search_sd, n)
        soc = self.social_clicks(demand, social) + rng.normal(0, self.social_sd, n)
        revenue = self.revenue(search, soc) + rng.normal(0, self.revenue_sd, n)
        return pd.DataFrame(dict(zip(SPEND_NODES, [demand, tv, social, search, soc, revenue])))

    def search_clicks(self, demand: Any, tv: Any) -> Any:
        return self.search_per_demand * demand + self.search_cap * (1 - np.exp(-tv / self.search_scale))

    def social_clicks(self, demand: Any, social: Any) -> Any:
        return self.social_per_demand * demand + self.social_cap * (1 - np.exp(-social / self.social_scale))

    def revenue(self, search: Any, social: Any) -> Any:
        return self.revenue_base + self.revenue_per_search * search + self.revenue_per_social * social

    def expected_revenue(self, do: dict[str, float] | None = None) -> float:
        """E[revenue | do(spend nodes = levels)], exactly (quadrature over the log-normal spends left free)."""
        do = do or {}
        unknown = set(do) - {"tv_spend", "social_spend"}
        if unknown:
            raise ValueError(f"SpendCase intervenes on tv_spend and social_spend only, not {sorted(unknown)}")
        e_tv = np.exp(-do["tv_spend"] / self.search_scale) if "tv_spend" in do else None
        e_so = np.exp(-do["social_spend"] / self.social_scale) if "social_spend" in do else None
        if e_tv is None:
            e_tv = _exp_mean(self.tv_mean, self.tv_logsd, self.search_scale)
        if e_so is None:
            e_so = _exp_mean(self.social_mean, self.social_logsd, self.social_scale)
        search = self.search_per_demand * self.demand_mean + self.search_cap * (1 - e_tv)
        social = self.social_per_demand * self.demand_mean + self.social_cap * (1 - e_so)
        return float(self.revenue(search, social))

    def response(self, node: str, levels: Any) -> np.ndarray:
        """True response curve E[revenue | do(node = level)] at each level."""
        return np.array([self.expected_revenue({node: float(x)}) for x in np.atleast_1d(levels)])

    def marginal_return(self, node: str, level: float) -> float:
        """d E[revenue] / d level at `level` (exact)."""
        if node == "tv_spend":
            return self.revenue_per_search * self.search_cap / self.search_scale * np.exp(-level / self.search_scale)
        return self.revenue_per_social * self.social_cap / self.social_scale * np.exp(-level / self.social_scale)

    def best_split(self, total: float, bounds: dict[str, tuple[float, float]]) -> dict[str, float]:
        """The allocation of `total` over tv_spend and social_spend maximising E[revenue] within bounds: equal
        marginal returns lambda (clipped to the bounds), lambda found by bisection on the total."""
        nodes = ["tv_spend", "social_spend"]
        scale = {"tv_spend": self.search_scale, "social_spend": self.social_scale}

        def split(lam: float) -> dict[str, float]:
            out = {}
            for n in nodes:
                peak = self.marginal_return(n, 0.0)
                x = scale[n] * np.log(peak / lam) if lam < peak else 0.0
                out[n] = float(np.clip(x, *bounds[n]))
            return out

        lo, hi = 1e-12, max(self.marginal_return(n, 0.0) for n in nodes) * 2
        for _ in range(200):
            mid = np.sqrt(lo * hi)
            lo, hi = (mid, hi) if sum(split(mid).values()) > total else (lo, mid)
        return split(np.sqrt(lo * hi))

    def change_truth(self, new: SpendCase) -> dict[str, float]:
        """Shapley attribution of E_new[revenue] - E_old[revenue] over the six nodes (roots: distribution;
        others: mechanism), every hybrid's mean computed exactly."""
        return _hybrid_shapley(self, new, SPEND_NODES, lambda case: case.expected_revenue())


def _hybrid_shapley(old: Any, new: Any, nodes: list[str], value: Any) -> dict[str, float]:
    """Exact Shapley values of v(S) = value(hybrid with the parameters of the nodes in S taken from `new`)."""
    d = len(nodes)
    v = np.empty(1 << d)
    for mask in range(1 << d):
        chosen = {nodes[i] for i in range(d) if mask >> i & 1}
        v[mask] = value(_hybrid(old, new, chosen))
    return dict(zip(nodes, shapley_values(v - v[0]).tolist()))


def _hybrid(old: SpendCase, new: SpendCase, chosen: set[str]) -> SpendCase:
    return replace(old, **{f.name: getattr(new, f.name) for f in fields(old) if _OWNER[f.name] in chosen})


def linear_change_truth(old: LinearANM, new: LinearANM) -> dict[str, float]:
    """Shapley attribution of the change in the target's mean between two linear ANMs on the same graph."""
    nodes = old.nodes

    def mean(chosen_new: set[str]) -> float:
        mu: dict[str, float] = {}
        for n in nodes:
            anm = new if n in chosen_new else old
            if n in anm.roots:
                mu[n] = anm.roots[n][0]
            else:
                coefs, noise_mean, _ = anm.equations[n]
                mu[n] = noise_mean + sum(b * mu[p] for p, b in coefs.items())
        return mu[old.target]

    d = len(nodes)
    v = np.array([mean({nodes[i] for i in range(d) if m >> i & 1}) for m in range(1 << d)])
    return dict(zip(nodes, shapley_values(v - v[0]).tolist()))
