"""Generators with known carryover and saturation, to prove that the engine learns them (benchmarks, tests).

Graph: demand, tv_spend, social_spend -> visits -> revenue, one row per unit (national, or region) and period:

    demand        ~ N(100, 10)                                              search-interest index
    tv_spend      flighted: runs of on-periods at a level drawn per flight (log-normal around `mean`,
                  log-sd `flight_sd`), then runs of off-periods (0)
    social_spend  always on: log-normal around `mean` every period
    visits        = 50 demand + sum_k effect_k * saturation_k(carryover_k(spend_k)) + N(0, visits_sd)
    revenue       = 2 visits + N(0, revenue_sd)

Carryover runs per unit over the full history (a burn-in of max_lag periods before the first row is drawn and
dropped, as a real export starts mid-stream). The truth: each channel's families and parameters, and the
population ICI shares of revenue, a_j^2 Var(N_j) with, for a spend node, the variance of its transformed series
(the node as its children see it), from a long simulation of the same spend process.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ici_assets.engine.transforms import Transform, carryover_weights, saturate

GRAPH_EDGES: tuple[tuple[str, str], ...] = (
    ("demand", "visits"),
    ("tv_spend", "visits"),
    ("social_spend", "visits"),
    ("visits", "revenue"),
)
DEMAND_MEAN, DEMAND_SD, DEMAND_EFFECT, VISIT_VALUE = 100.0, 10.0, 50.0, 2.0


@dataclass(frozen=True)
class Channel:
    """One spend channel: how it is bought (`flighted` or `always_on`), its level, its transforms and its effect
    on visits at full saturation (or per unit of level without saturation)."""

    name: str
    pattern: str
    mean: float
    transform: Transform
    effect: float


@dataclass(frozen=True)
class TransformCase:
    """A generator's shape: periods, units, period length ('W' or 'D'), flight run lengths, channels and noises."""

    n_periods: int = 156
    n_units: int = 1
    freq: str = "W"
    on_runs: tuple[int, int] = (3, 8)
    off_runs: tuple[int, int] = (2, 6)
    flight_sd: float = 0.6
    visits_sd: float = 150.0
    revenue_sd: float = 200.0
    channels: tuple[Channel, ...] = field(default_factory=tuple)

    @property
    def max_lag(self) -> int:
        return max(ch.transform.max_lag for ch in self.channels)

    @property
    def declared(self) -> dict[str, dict[str, str]]:
        """The true families as a model would declare them (``transforms=`` of the engine, the column meta)."""
        return {
            ch.name: {"carryover": ch.transform.carryover, "saturation": ch.transform.saturation}
            for ch in self.channels
        }


WEEKLY_NATIONAL = TransformCase(
    channels=(
        Channel(
            "tv_spend", "flighted", 45_000.0,
            Transform("tv_spend", "geometric", "hill", 8, {"decay": 0.7, "half_saturation": 40_000.0, "slope": 2.0}),
            3_000.0,
        ),
        Channel(
            "social_spend", "always_on", 20_000.0,
            Transform(
                "social_spend", "weibull", "logistic", 8, {"shape": 2.0, "scale": 2.0, "half_saturation": 25_000.0}
            ),
            2_000.0,
        ),
    )
)  # fmt: skip

DAILY_REGIONAL = replace(
    WEEKLY_NATIONAL,
    n_periods=365,
    n_units=10,
    freq="D",
    on_runs=(7, 28),
    off_runs=(7, 21),
    visits_sd=400.0,
    revenue_sd=300.0,
)


def _spend(rng: np.random.Generator, channel: Channel, case: TransformCase, n: int) -> np.ndarray:
    """n periods of one unit's spend."""
    if channel.pattern == "always_on":
        return channel.mean * rng.lognormal(-0.08, 0.4, n)
    if channel.pattern != "flighted":
        raise ValueError(
            f"channel {channel.name!r}: pattern must be 'flighted' or 'always_on', got {channel.pattern!r}"
        )
    out = np.zeros(n)
    t = int(rng.integers(0, case.off_runs[1] + 1))
    while t < n:
        on = int(rng.integers(case.on_runs[0], case.on_runs[1] + 1))
        out[t : t + on] = (
            channel.mean
            * rng.lognormal(-(case.flight_sd**2) / 2, case.flight_sd)
            * rng.lognormal(0.0, 0.1, len(out[t : t + on]))
        )
        t += on + int(rng.integers(case.off_runs[0], case.off_runs[1] + 1))
    return out


def _transformed(channel: Channel, spend: np.ndarray) -> np.ndarray:
    """The transformed series of one unit's spend over its full history (burn-in included), full windows."""
    tr = channel.transform
    w = carryover_weights(tr.carryover, tr.params, tr.max_lag)
    w = w / w.sum()
    level = np.convolve(spend, w)[: len(spend)]
    return saturate(tr.saturation, tr.params, level)


def simulate_transform_case(seed: int = 0, case: TransformCase = WEEKLY_NATIONAL) -> pd.DataFrame:
    """One row per unit and period: period, unit, the five nodes (spend in EUR per period)."""
    rng = np.random.default_rng(seed)
    burn = case.max_lag
    start = pd.Timestamp("2022-01-03")
    periods = pd.date_range(start, periods=case.n_periods, freq="W-MON" if case.freq == "W" else "D")
    frames = []
    for u in range(case.n_units):
        cols: dict[str, Any] = {"period": periods, "unit": f"unit_{u + 1:02d}" if case.n_units > 1 else "national"}
        demand = rng.normal(DEMAND_MEAN, DEMAND_SD, case.n_periods)
        visits = DEMAND_EFFECT * demand + rng.normal(0.0, case.visits_sd, case.n_periods)
        cols["demand"] = demand
        for ch in case.channels:
            spend = _spend(rng, ch, case, case.n_periods + burn)
            visits = visits + ch.effect * _transformed(ch, spend)[burn:]
            cols[ch.name] = spend[burn:]
        cols["visits"] = visits
        cols["revenue"] = VISIT_VALUE * visits + rng.normal(0.0, case.revenue_sd, case.n_periods)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def transform_truth(case: TransformCase = WEEKLY_NATIONAL, n_long: int = 200_000, seed: int = 12_345) -> pd.DataFrame:
    """Population ICI of revenue per node (a_j^2 Var(N_j); a spend node's noise is its transformed series, whose
    variance comes from one long simulation of its spend process) and shares in percent."""
    rng = np.random.default_rng(seed)
    ici = {"demand": (VISIT_VALUE * DEMAND_EFFECT * DEMAND_SD) ** 2}
    for ch in case.channels:
        g = _transformed(ch, _spend(rng, ch, case, n_long))[ch.transform.max_lag :]
        ici[ch.name] = (VISIT_VALUE * ch.effect) ** 2 * float(np.var(g))
    return _with_noise_nodes(ici, case)


def _with_noise_nodes(ici: dict[str, float], case: TransformCase) -> pd.DataFrame:
    """The ICI table once the non-root nodes' own noises are added: node, ici and share in percent."""
    ici = {**ici, "visits": (VISIT_VALUE * case.visits_sd) ** 2, "revenue": case.revenue_sd**2}
    total = sum(ici.values())
    return pd.DataFrame(
        {"node": list(ici), "ici": list(ici.values()), "share": [100 * v / total for v in ici.values()]}
    )


def sample_truth(data: pd.DataFrame, case: TransformCase = WEEKLY_NATIONAL) -> pd.DataFrame:
    """The ICI shares of revenue on this sample: as :func:`transform_truth`, with each root's variance taken on the
    sample (a spend node's transformed series by the true transforms, per unit in time order) instead of the
    population. Flighted spend over a few years has few flights, so its sample variance strays far from the
    population's; this is the truth an estimator on this sample can be held to."""
    from ici_assets.engine.transforms import apply_transform

    ici = {"demand": (VISIT_VALUE * DEMAND_EFFECT) ** 2 * float(np.var(data["demand"]))}
    for ch in case.channels:
        g = apply_transform(ch.transform, data, time_column="period", unit_column="unit")
        ici[ch.name] = (VISIT_VALUE * ch.effect) ** 2 * float(np.var(g))
    return _with_noise_nodes(ici, case)
