"""A user's own media data with a known truth (not the demo's generator): daily or weekly, regional or national.

A linear additive-noise process over the nodes of a small media graph, with one-week event dummies
as roots. Its truth is computed two ways: the population shares (a_j^2 Var(N_j), the event dummies'
variance that of their sample, p(1 - p)) and the sample's own shares (the same with the variances of
the noises actually drawn), which removes the sampling error of the noise variances and leaves the
estimator's own. ``benchmarks/bench_user_data.py`` measures both spreads over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ici_assets.engine import total_effects
from ici_assets.engine.spendcases import SpendCase


@dataclass(frozen=True)
class MediaProcess:
    """Roots N(mean, sd), event dummies (1 in the listed periods), linear equations (coefs, intercept, noise sd)."""

    roots: dict[str, tuple[float, float]]
    events: dict[str, tuple[float, ...]]  # event node -> positions in [0, 1) of the periods where it is 1
    equations: dict[str, tuple[dict[str, float], float, float]]
    target: str = "revenue"

    @property
    def nodes(self) -> list[str]:
        return [*self.roots, *self.events, *self.equations]

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(p, c) for c, (coefs, _, _) in self.equations.items() for p in coefs]

    def effects(self) -> dict[str, float]:
        coefs = {c: dict(b) for c, (b, _, _) in self.equations.items()}
        return {n: float(v) for n, v in total_effects(self.nodes, coefs, self.target).items()}

    def simulate(self, n_periods: int, units: list[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(node values, own noises): rows period-major (each period, every unit), no time or unit column."""
        rng = np.random.default_rng(seed)
        n = n_periods * len(units)
        noise: dict[str, np.ndarray] = {r: rng.normal(mu, sd, n) for r, (mu, sd) in self.roots.items()}
        period = np.repeat(np.arange(n_periods), len(units))
        for name, positions in self.events.items():
            hits = {int(p * n_periods) for p in positions}
            noise[name] = np.isin(period, list(hits)).astype(float)
        values = dict(noise)
        for child, (coefs, intercept, sd) in self.equations.items():
            noise[child] = rng.normal(0.0, sd, n)
            values[child] = intercept + sum(b * values[p] for p, b in coefs.items()) + noise[child]
        return pd.DataFrame(values, columns=self.nodes), pd.DataFrame(noise, columns=self.nodes)

    def _shares(self, variances: dict[str, float]) -> dict[str, float]:
        a = self.effects()
        ici = {n: a[n] ** 2 * variances[n] for n in self.nodes if a.get(n, 0.0) != 0.0}
        total = sum(ici.values())
        return {n: 100.0 * v / total for n, v in ici.items()}

    def population_truth(self, n_periods: int) -> dict[str, float]:
        """Shares with the population noise variances (an event: p(1 - p), p its share of periods)."""
        var = {r: sd**2 for r, (_, sd) in self.roots.items()}
        var.update({c: sd**2 for c, (_, _, sd) in self.equations.items()})
        for name, positions in self.events.items():
            p = len({int(q * n_periods) for q in positions}) / n_periods
            var[name] = p * (1.0 - p)
        return self._shares(var)

    def sample_truth(self, noise: pd.DataFrame) -> dict[str, float]:
        """Shares with the variances of the noises drawn in this sample."""
        return self._shares({n: float(noise[n].var(ddof=0)) for n in self.nodes})


#: Weekly spends and clicks on the scales of public media-mix examples; two one-week events.
MEDIA = MediaProcess(
    roots={"demand": (100.0, 15.0), "tv_spend": (80_000.0, 20_000.0), "search_spend": (15_000.0, 4_000.0)},
    events={"event_1": (0.3,), "event_2": (0.7,)},
    equations={
        "search_clicks": ({"demand": 50.0, "tv_spend": 0.05, "search_spend": 0.5}, 0.0, 1_000.0),
        "revenue": ({"search_clicks": 4.0, "demand": 300.0, "event_1": 25_000.0, "event_2": 15_000.0}, 0.0, 8_000.0),
    },
)


def media_table(
    process: MediaProcess, *, n_periods: int, units: list[str] | None, freq: str, start: str, seed: int
) -> tuple[pd.DataFrame, dict[str, float], dict[str, float]]:
    """A raw table (time column ``period``, ``region`` when ``units``), its sample truth and its population truth."""
    names = units or ["national"]
    values, noise = process.simulate(n_periods, names, seed)
    table = values.copy()
    table.insert(0, "period", np.repeat(pd.date_range(start, periods=n_periods, freq=freq), len(names)))
    if units:
        table.insert(1, "region", np.tile(names, n_periods))
    return table, process.sample_truth(noise), process.population_truth(n_periods)


#: The shapes of the user-project tests: (periods, units or None for one national series, frequency, first period).
SHAPES: dict[str, dict] = {
    "weekly_national": {"n_periods": 200, "units": None, "freq": "W-SUN", "start": "2021-01-03"},
    "weekly_regional": {
        "n_periods": 150,
        "units": [f"region_{i}" for i in range(8)],
        "freq": "W-MON",
        "start": "2022-01-03",
    },
    "daily_regional": {
        "n_periods": 730,
        "units": [f"region_{i:02d}" for i in range(20)],
        "freq": "D",
        "start": "2024-01-01",
    },
}


@dataclass(frozen=True)
class Staggered:
    """A panel as pipelines produce it: ``late`` units open that many periods after the first, ``outage`` units
    miss the listed periods (0-based positions), and the other units span the whole table."""

    n_periods: int
    units: tuple[str, ...]
    freq: str
    start: str
    late: dict[str, int]
    outage: dict[str, tuple[int, ...]]

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_periods, freq=self.freq)

    def dropped(self, period: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """Which rows of the full rectangle (period position, unit name) the pipeline never produced."""
        gone = np.zeros(len(period), dtype=bool)
        for name, k in self.late.items():
            gone |= (unit == name) & (period < k)
        for name, ks in self.outage.items():
            gone |= (unit == name) & np.isin(period, ks)
        return gone


#: 12 regions x 540 days; region_07 opens 90 days after the others, region_03 misses three days (a tracking outage).
STAGGERED = Staggered(
    n_periods=540,
    units=tuple(f"region_{i:02d}" for i in range(12)),
    freq="D",
    start="2024-01-01",
    late={"region_07": 90},
    outage={"region_03": (200, 201, 202)},
)


def staggered_table(
    process: MediaProcess, shape: Staggered, *, seed: int, rectangle: bool = False
) -> tuple[pd.DataFrame, dict[str, float]]:
    """(a table with columns ``period``, ``region`` and the nodes, its sample truth): the rows of the full
    rectangle the pipeline produced (all of them with ``rectangle``), the truth from the noises of those rows."""
    values, noise = process.simulate(shape.n_periods, list(shape.units), seed)
    period = np.repeat(np.arange(shape.n_periods), len(shape.units))
    unit = np.tile(np.array(shape.units), shape.n_periods)
    table = values.copy()
    table.insert(0, "period", shape.dates[period])
    table.insert(1, "region", unit)
    keep = np.ones(len(table), dtype=bool) if rectangle else ~shape.dropped(period, unit)
    return table[keep].reset_index(drop=True), process.sample_truth(noise[keep])


def weekly_saturating(n_weeks: int = 156, seed: int = 0) -> tuple[pd.DataFrame, SpendCase]:
    """One national weekly series (column ``week``) of a saturating spend -> clicks -> revenue process, spends
    spread widely enough (log-sd 1) that the curves bend inside the data and ``mechanisms: auto`` picks splines:
    the shape of the held-out run that failed at spend_response on its Monte Carlo error (issue 23, item 5)."""
    case = SpendCase(tv_logsd=1.0, social_logsd=1.0, demand_sd=30.0, search_sd=10.0, social_sd=10.0, revenue_sd=40.0)
    table = case.simulate(n_weeks, seed)
    table.insert(0, "week", pd.date_range("2022-01-02", periods=n_weeks, freq="W-SUN"))
    return table, case
