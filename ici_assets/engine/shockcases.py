"""A panel with known anomalies: daily rows per region from a reference SCM, with one-day shocks added to the
noise of known nodes in known regions. The evidence for ``attribute_anomalies`` (tests, benchmark): the shocked
node should carry the largest contribution on its shocked unit-day.

A shock of `effect` in target units to node j adds effect / a_j to N_j, a_j its total effect on the target
(linear case: exact; nonlinear case: a_j is the effect of a small change of N_j at the noises' means).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .cases import ARTICLE, SAT_NOISE, LinearANM, saturating_mechanisms
from .effects import total_effects

NoiseMap = Mapping[str, np.ndarray]
Mechanisms = Callable[[NoiseMap], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class ShockCase:
    """A reference SCM as data: each node's noise (mean, sd), the noises -> values map, and the target."""

    noise: Mapping[str, tuple[float, float]]
    values: Mechanisms
    target: str

    @property
    def nodes(self) -> list[str]:
        return list(self.noise)

    def target_sd(self, n: int = 200_000, seed: int = 0) -> float:
        """Standard deviation of the target without shocks (simulated, seeded)."""
        rng = np.random.default_rng([seed, 0x5D])
        draws = {k: rng.normal(m, s, n) for k, (m, s) in self.noise.items()}
        return float(np.std(self.values(draws)[self.target]))

    def local_effects(self, step: float = 1e-3) -> dict[str, float]:
        """dY/dN_j at the noises' means (finite differences of `step` noise sds): a_j for a linear case."""
        base = {k: np.array([m]) for k, (m, _) in self.noise.items()}
        y0 = float(self.values(base)[self.target][0])
        out = {}
        for k, (m, s) in self.noise.items():
            moved = {**base, k: np.array([m + step * s])}
            out[k] = (float(self.values(moved)[self.target][0]) - y0) / (step * s)
        return out


def linear_case(anm: LinearANM = ARTICLE) -> ShockCase:
    """A linear ANM as a ShockCase."""

    def values(noise: NoiseMap) -> dict[str, np.ndarray]:
        vals = {r: np.asarray(noise[r], dtype=float) for r in anm.roots}
        for node, (coefs, _, _) in anm.equations.items():
            vals[node] = sum(b * vals[p] for p, b in coefs.items()) + noise[node]
        return vals

    return ShockCase(anm.noise(), values, anm.target)


def linear_effects(anm: LinearANM = ARTICLE) -> dict[str, float]:
    """Exact total effects a_j of a linear ANM on its target."""
    out: dict[str, float] = total_effects(anm.nodes, {n: dict(c) for n, (c, _, _) in anm.equations.items()}, anm.target)
    return out


#: The nonlinear reference case (saturating spend, clicks x clicks), lower-case names.
SATURATING = ShockCase(
    {k.lower().replace(" ", "_"): v for k, v in SAT_NOISE.items()},
    lambda n: {
        k.lower().replace(" ", "_"): v
        for k, v in saturating_mechanisms({c: n[c.lower().replace(" ", "_")] for c in SAT_NOISE}).items()
    },
    "revenue",
)
#: The graph of :data:`SATURATING` (the article's case with saturating spend), as edges.
SATURATING_EDGES = [
    ("demand", "organic_clicks"),
    ("tv_spend", "organic_clicks"),
    ("demand", "social_clicks"),
    ("social_spend", "social_clicks"),
    ("tv_spend", "social_clicks"),
    ("organic_clicks", "revenue"),
    ("social_clicks", "revenue"),
]


def shocked_panel(
    case: ShockCase,
    *,
    n_units: int = 12,
    n_days: int = 365,
    n_shocks: int = 60,
    effect_sds: float = 3.0,
    nodes: list[str] | None = None,
    effects: Mapping[str, float] | None = None,
    start: str = "2025-01-01",
    last_days: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(panel, shocks): `n_units` regions (r01...) x `n_days` days of `case`, and `n_shocks` one-day shocks on
    distinct unit-days in the last `last_days` days (default: the last quarter), cycling through `nodes`
    (default: all), each moving the target by about ±`effect_sds` target sds (signs alternate). `effects`: a_j
    per node (default: local_effects).
    ``shocks`` has columns region, date, node, noise_shift, effect."""
    rng = np.random.default_rng([seed, 0x5C])
    n = n_units * n_days
    regions = np.repeat([f"r{u + 1:02d}" for u in range(n_units)], n_days)
    dates = np.tile(pd.date_range(start, periods=n_days, freq="D").to_numpy(), n_units)
    noise = {k: rng.normal(m, s, n) for k, (m, s) in case.noise.items()}
    a = dict(effects) if effects is not None else case.local_effects()
    chosen = nodes or case.nodes
    sd_y = case.target_sd(seed=seed)
    tail = n_days // 4 if last_days is None else last_days
    late = [u * n_days + d for u in range(n_units) for d in range(n_days - tail, n_days)]
    rows = rng.choice(late, size=n_shocks, replace=False)
    records = []
    for i, row in enumerate(rows):
        node = chosen[i % len(chosen)]
        effect = (1 if i % 2 == 0 else -1) * effect_sds * sd_y
        shift = effect / a[node]
        noise[node][row] += shift
        records.append(
            {"region": regions[row], "date": dates[row], "node": node, "noise_shift": shift, "effect": effect}
        )
    vals = case.values(noise)
    panel = pd.DataFrame({"region": regions, "date": dates, **{k: vals[k] for k in case.nodes}})
    return panel, pd.DataFrame(records)
