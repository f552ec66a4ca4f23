"""Time-series reference cases for the interval study, auto-mode benchmarks and sparse-column tests.

regional_case: a LinearANM whose noises are stationary AR(1) processes over days, independently per
unit (region), e.g. 20 regions x 730 days; weekly_case: one national series of such days summed
per week. Stationary noise variances equal the ANM's, so the population shares are the
ANM's analytic truth (a_j^2 Var(N_j)) whatever phi.
weekly_events_case: a public-MMM-like weekly national table (about 180 rows, spends on very
different scales) with a one-week and a two-week event dummy.
NINE_NODE: a 9-node linear marketing graph.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.signal

from .cases import ARTICLE, LinearANM, NoiseFn

NINE_NODE = LinearANM(
    roots={
        "demand": (100.0, 20.0),
        "tv_spend": (50_000.0, 15_000.0),
        "social_spend": (8_000.0, 2_500.0),
        "search_spend": (12_000.0, 3_000.0),
    },
    equations={
        "brand_searches": ({"demand": 40.0, "tv_spend": 0.08}, 0.0, 1_000.0),
        "organic_clicks": ({"brand_searches": 0.6, "demand": 10.0}, 0.0, 500.0),
        "paid_clicks": ({"brand_searches": 0.3, "search_spend": 0.4}, 0.0, 600.0),
        "social_clicks": ({"social_spend": 0.5, "demand": 8.0, "tv_spend": 0.02}, 0.0, 700.0),
        "revenue": ({"organic_clicks": 3.0, "paid_clicks": 2.5, "social_clicks": 2.0}, 5_000.0, 3_000.0),
    },
    target="revenue",
)


def ar1_noise(phi: float, n_units: int, n_periods: int) -> NoiseFn:
    """A noise function for LinearANM.simulate: unit-variance stationary AR(1) series per unit and node.

    Rows are period-major (row = period * n_units + unit)."""

    def draw(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        assert n == n_units * n_periods
        z = rng.standard_normal((n_periods, n_units, d))
        innovation = np.sqrt(1.0 - phi**2)
        z[0] /= innovation  # e_0 = z_0 (stationary start), e_t = phi e_t-1 + innovation z_t
        return scipy.signal.lfilter([innovation], [1.0, -phi], z, axis=0).reshape(n, d)

    return draw


def regional_case(
    phi: float,
    *,
    anm: LinearANM = ARTICLE,
    n_units: int = 20,
    n_periods: int = 730,
    freq: str = "D",
    seed: int = 0,
) -> pd.DataFrame:
    """`anm` with AR(1)(phi) noises in time per unit: columns period, unit and the nodes."""
    n = n_units * n_periods
    frame = anm.simulate(n, seed, noise=ar1_noise(phi, n_units, n_periods))
    periods = pd.date_range("2023-01-02", periods=n_periods, freq=freq)
    frame.insert(0, "unit", np.tile([f"u{u:02d}" for u in range(n_units)], n_periods))
    frame.insert(0, "period", np.repeat(periods, n_units))
    return frame


def weekly_case(phi: float, *, anm: LinearANM = ARTICLE, n_weeks: int = 180, seed: int = 0) -> pd.DataFrame:
    """One national weekly series: `anm` simulated on days with AR(1)(phi) noises, summed per week.

    The weekly table is again a linear ANM with the same coefficients; every node's weekly noise
    variance is its daily one times the same factor, so the true shares are unchanged."""
    daily = regional_case(phi, anm=anm, n_units=1, n_periods=7 * n_weeks, seed=seed).drop(columns="unit")
    daily["period"] = daily["period"].dt.to_period("W-SUN").dt.start_time
    return daily.groupby("period", as_index=False).sum()


WEEKLY_EVENTS_EDGES = [
    ("demand", "search_clicks"),
    ("tv_spend", "search_clicks"),
    ("search_spend", "search_clicks"),
    ("demand", "social_clicks"),
    ("social_spend", "social_clicks"),
    ("search_clicks", "revenue"),
    ("social_clicks", "revenue"),
    ("event_1", "revenue"),
    ("event_2", "revenue"),
]


def weekly_events_case(n_weeks: int = 180, seed: int = 0, phi: float = 0.5) -> pd.DataFrame:
    """A weekly national media-mix table: spends on scales from thousands to hundreds of thousands, a
    seasonal AR(1) demand, and two event dummies (event_1: one week, event_2: two consecutive weeks)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_weeks)
    e = ar1_noise(phi, 1, n_weeks)(n_weeks, 8, rng)
    demand = 100.0 + 15.0 * np.sin(2 * np.pi * t / 52) + 10.0 * e[:, 0]
    tv = np.maximum(0.0, 250_000.0 + 90_000.0 * e[:, 1])
    search = 20_000.0 + 5_000.0 * e[:, 2]
    social = 3_000.0 + 1_000.0 * e[:, 3]
    event_1 = (t == n_weeks // 3).astype(float)
    event_2 = ((t == 2 * n_weeks // 3) | (t == 2 * n_weeks // 3 + 1)).astype(float)
    search_clicks = 300.0 * demand + 0.02 * tv + 1.5 * search + 3_000.0 * e[:, 4]
    social_clicks = 50.0 * demand + 4.0 * social + 1_500.0 * e[:, 5]
    revenue = (
        50_000.0 + 2.0 * search_clicks + 1.5 * social_clicks + 40_000.0 * event_1 + 25_000.0 * event_2
    ) + 12_000.0 * e[:, 6]
    return pd.DataFrame(
        {
            "week": pd.date_range("2022-01-03", periods=n_weeks, freq="W-MON"),
            "demand": demand,
            "tv_spend": tv,
            "search_spend": search,
            "social_spend": social,
            "event_1": event_1,
            "event_2": event_2,
            "search_clicks": search_clicks,
            "social_clicks": social_clicks,
            "revenue": revenue,
        }
    )
