"""Simulating the demo's node values per date x region from its causal truth.

TV carryover (on by default): brand spend acts with a delay. The clicks respond to the
geometric adstock of each region's daily TV spend, ``tv_adstock_t = sum_{l=0..L} w_l TV_{t-l}``
with ``w_l = decay**l / sum_k decay**k`` (weights sum to 1, so adstock keeps spend's mean and
unit). The daily spend is drawn with sd 20,000 / sqrt(sum_l w_l**2) (article units), so that its
adstock has the article's TV distribution. The spend history starts ``max_lag`` days before the
shop data (burn-in), so every shop day's adstock has its full window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ici_assets.demo.adstock import adstock_settings, adstock_weights
from ici_assets.demo.truth import ARTICLE_EQUATIONS, ARTICLE_ROOTS, NODE_UNITS


@dataclass(frozen=True)
class DemoShape:
    """How much demo data, from which day, and its TV carryover (default: the demo's dbt vars)."""

    n_regions: int = 20
    start_date: str = "2024-01-01"
    n_days: int = 730
    tv_adstock_decay: float = field(default_factory=lambda: adstock_settings()[0])
    tv_adstock_max_lag: int = field(default_factory=lambda: adstock_settings()[1])


def simulate(seed: int = 0, **shape: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes per date x region over the shop days, daily spend over burn-in + shop days).

    ``shape``: fields of :class:`DemoShape`. The nodes are what ``generate_raw_tables`` (same
    arguments) spreads over the raw tables and what ``marketing_nodes`` must rebuild; with
    carryover they include ``tv_adstock`` (EUR).
    """
    return draw_nodes(np.random.default_rng(seed), DemoShape(**shape))


def simulate_nodes(seed: int = 0, **shape: Any) -> pd.DataFrame:
    """The node values per date x region (first item of :func:`simulate`, same arguments)."""
    return simulate(seed, **shape)[0]


def simulate_spend_history(seed: int = 0, **shape: Any) -> pd.DataFrame:
    """Daily ``tv_spend`` and ``social_spend`` per date x region over the whole ``ad_spend`` export:
    the burn-in days before ``start_date``, then the shop days (second item of :func:`simulate`)."""
    return simulate(seed, **shape)[1]


def draw_nodes(rng: np.random.Generator, size: DemoShape) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes over the n_days shop days, daily spend over burn-in + shop days), drawn from ``rng``."""
    n_regions, start_date, n_days = size.n_regions, size.start_date, size.n_days
    if n_regions < 1 or n_days < 1:
        raise ValueError(f"n_regions and n_days must be >= 1, got {n_regions}, {n_days}")
    weights = adstock_weights(size.tv_adstock_decay, size.tv_adstock_max_lag)
    lag = len(weights) - 1
    # The spend history starts `lag` days before the shop data (burn-in): every shop day's
    # adstock then has its full window of recorded spend.
    all_dates = pd.date_range(
        pd.Timestamp(start_date) - pd.Timedelta(days=lag), periods=n_days + lag, freq="D"
    ).values.astype("datetime64[us]")
    dates = all_dates[lag:]
    regions = np.array([f"region_{i + 1:02d}" for i in range(n_regions)], dtype=object)
    shape = (n_days, n_regions)  # cell k = day * n_regions + region (date-major)
    spend_shape = (n_days + lag, n_regions)
    n_cells = n_days * n_regions

    def to_data(node: str, x: np.ndarray) -> np.ndarray:
        off, scale = NODE_UNITS[node]
        return off + scale * x

    def to_article(node: str, y: np.ndarray) -> np.ndarray:
        off, scale = NODE_UNITS[node]
        return (y - off) / scale

    # Roots, in data units, rounded where recorded. Daily TV spend is more volatile than its
    # adstock: sd / sqrt(sum w^2), so that the adstock has the article's TV distribution.
    def draw_root(node: str, size: tuple[int, int], positive: bool, sd_factor: float = 1.0) -> np.ndarray:
        mean, sd = ARTICLE_ROOTS[node]
        sd = sd * sd_factor
        x = rng.normal(mean, sd, size)
        while positive and (bad := to_data(node, x) <= 0.0).any():
            x[bad] = rng.normal(mean, sd, int(bad.sum()))
        return x

    demand = np.round(to_data("demand", draw_root("demand", shape, False)), 2).ravel()
    tv_sd_factor = 1.0 / float(np.sqrt(np.sum(weights**2)))
    tv_daily = np.round(to_data("tv_spend", draw_root("tv_spend", spend_shape, True, tv_sd_factor)), 2)
    social_daily = np.round(to_data("social_spend", draw_root("social_spend", spend_shape, True)), 2)
    social = social_daily[lag:].ravel()
    # Adstock of the recorded (rounded) daily spend, in EUR, summed in the dbt macro's order.
    tv_window = np.zeros(shape)
    for k, w in enumerate(weights):
        tv_window = tv_window + float(w) * tv_daily[lag - k : lag - k + n_days]
    tv_adstock = tv_window.ravel()
    parents_art = {
        "demand": to_article("demand", demand),
        "tv_spend": to_article("tv_spend", tv_adstock),
        "social_spend": to_article("social_spend", social),
    }

    def structural(node: str, values: Mapping[str, np.ndarray]) -> np.ndarray:
        coefs, mu, sd = ARTICLE_EQUATIONS[node]
        return sum(b * values[p] for p, b in coefs.items()) + rng.normal(mu, sd, n_cells)

    organic = np.rint(to_data("organic_clicks", structural("organic_clicks", parents_art)))
    social_clicks = np.rint(to_data("social_clicks", structural("social_clicks", parents_art)))
    if (organic <= 0).any() or (social_clicks <= 0).any():  # ~7 sd away: never in practice
        raise RuntimeError("non-positive sessions drawn; change the seed")
    clicks_art = {
        "organic_clicks": to_article("organic_clicks", organic),
        "social_clicks": to_article("social_clicks", social_clicks),
    }
    revenue = np.round(to_data("revenue", structural("revenue", clicks_art)), 2)
    if (revenue <= 0).any():
        raise RuntimeError("non-positive revenue drawn; change the seed")
    nodes = pd.DataFrame(
        {
            "date": np.repeat(dates, n_regions),
            "region": np.tile(regions, n_days),
            "demand": demand,
            "tv_spend": tv_daily[lag:].ravel(),
            "social_spend": social,
            "organic_clicks": organic,
            "social_clicks": social_clicks,
            "revenue": revenue,
        }
    )
    if lag:
        nodes["tv_adstock"] = tv_adstock
    history = pd.DataFrame(
        {
            "date": np.repeat(all_dates, n_regions),
            "region": np.tile(regions, n_days + lag),
            "tv_spend": tv_daily.ravel(),
            "social_spend": social_daily.ravel(),
        }
    )
    return nodes, history
