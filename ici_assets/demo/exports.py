"""The demo's raw exports: ad platform spend, web analytics sessions, shop orders, a demand index.

What the raw tables look like (the dbt project rebuilds the node values from them):

- ``demand_index``: the Demand node as a search-interest index (mean 100).
- ``ad_spend``: TV and social spend in EUR split over 2-3 campaigns per channel and day. With TV
  carryover the export starts ``tv_adstock_max_lag`` days before the shop data: the spend history
  that the first days' adstock needs.
- ``web_sessions``: organic clicks as google/organic sessions, social clicks split into
  facebook/instagram paid_social sessions, plus direct and newsletter traffic outside the graph.
- ``orders``: one row per order; the orders of a date x region sum exactly to its revenue.
  ``last_click_channel`` is what finance's last-click model credits (never TV).
- ``ground_truth_ici``: the analytic ICI (a_j^2 Var(N_j), data units) and shares in percent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ici_assets.demo.simulation import DemoShape, draw_nodes
from ici_assets.demo.truth import ground_truth_ici

AVERAGE_ORDER_VALUE = 110.0  # EUR
ORDER_VALUE_GAMMA_SHAPE = 2.0  # order values within a day: coefficient of variation 0.71
FACEBOOK_SHARE = 0.6  # of paid_social sessions; the rest is instagram

# Campaigns per channel: the first two run every day, the third on a random half of days.
CAMPAIGNS: dict[str, tuple[tuple[str, float, float], ...]] = {
    # (campaign, Dirichlet weight, CPM in EUR)
    "tv": (
        ("tv_brand_always_on", 5.0, 22.0),
        ("tv_prime_time", 3.0, 30.0),
        ("tv_sports_flight", 2.0, 26.0),
    ),
    "social": (
        ("social_video_reach", 5.0, 7.0),
        ("social_prospecting", 3.0, 9.0),
        ("social_retargeting", 2.0, 12.0),
    ),
}


def _split_cents(
    rng: np.random.Generator, total_cents: np.ndarray, alpha: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Split each row's total (in cents) over columns with Dirichlet(alpha) weights, exactly.

    Inactive columns get 0; the rounding remainder goes to column 0 (always active).
    """
    g = rng.gamma(np.broadcast_to(alpha, active.shape)) * active
    w = g / g.sum(axis=1, keepdims=True)
    cents = np.floor(w * total_cents[:, None]).astype(np.int64)
    cents[:, 0] += total_cents - cents.sum(axis=1)
    return cents


def generate_raw_tables(seed: int = 0, **shape: Any) -> dict[str, pd.DataFrame]:
    """Generate the raw demo tables; the date x region aggregates follow the article's DGP.

    Deterministic from ``seed`` (one numpy Generator). Returns a dict with keys ``ad_spend``,
    ``web_sessions``, ``orders``, ``demand_index`` and ``ground_truth_ici``; dates are
    datetime64 at midnight, money is float rounded to cents, counts are int64 (``orders``
    uses categoricals for its string columns, for speed). The aggregates equal
    ``simulate_nodes`` with the same arguments (``ad_spend``: ``simulate_spend_history``).

    Spend is positive: the rare negative root draws are redrawn, i.e. spend is drawn from a
    normal truncated at 0. That is 5.08 sd (daily TV under the default carryover) and 5 sd
    (social) below the mean, so the variance shrinks by a factor 1 - 5e-6 (TV) and 1 - 8e-6
    (social) and the shares move by less than 0.0002 points: the analytic truth stays the
    untruncated one.

    Node values are rounded where they are recorded (search interest to 0.01, spend and
    revenue to cents, sessions to integers) and children are computed from the rounded
    parents, so the rounded values are the causal variables. Rounding sessions adds a
    uniform error of variance 1/12 session^2 to the click noises (organic: 1,600 session^2),
    which moves shares by about 1e-5 points.

    ``shape``: fields of :class:`~ici_assets.demo.simulation.DemoShape` (``n_regions``, ``start_date``,
    ``n_days``, ``tv_adstock_decay``, ``tv_adstock_max_lag``).

    ``tv_adstock_decay``/``tv_adstock_max_lag`` (default 0.6 and 7, the dbt vars): when both
    are > 0 the clicks respond to the geometric adstock sum_l w_l TV_{t-l} (w_l proportional
    to decay^l, summing to 1) of each region's TV spend instead of the same day's spend, and
    the ground truth is the one for the adstocked node (``tv_adstock``). ``ad_spend`` records
    daily spend of both channels and starts ``tv_adstock_max_lag`` days before ``start_date``
    (spend history predates the shop data), so the first shop day's adstock is complete; the
    other tables start on ``start_date``. Both 0 gives the article's same-day model.
    """
    rng = np.random.default_rng(seed)
    size = DemoShape(**shape)
    n_regions, n_days = size.n_regions, size.n_days
    nodes, history = draw_nodes(rng, size)
    n_cells = len(nodes)
    cell_date = nodes["date"].to_numpy()
    cell_region = nodes["region"].to_numpy(dtype=object)
    region_idx = np.tile(np.arange(n_regions), n_days)
    regions = cell_region[:n_regions]
    demand = nodes["demand"].to_numpy()
    organic = nodes["organic_clicks"].to_numpy().astype(np.int64)
    social_clicks = nodes["social_clicks"].to_numpy().astype(np.int64)
    revenue = nodes["revenue"].to_numpy()
    revenue_cents = np.rint(revenue * 100).astype(np.int64)

    demand_index = pd.DataFrame({"date": cell_date, "region": cell_region, "search_interest": demand})

    # ad_spend: 2-3 campaigns per channel and day, spend in cents summing to the node value,
    # over the whole spend history (burn-in days + shop days).
    spend_date = history["date"].to_numpy()
    spend_region = history["region"].to_numpy(dtype=object)
    n_spend = len(history)
    spend_frames = []
    for channel, node_values in (
        ("tv", history["tv_spend"].to_numpy()),
        ("social", history["social_spend"].to_numpy()),
    ):
        camp = CAMPAIGNS[channel]
        active = np.ones((n_spend, len(camp)), dtype=bool)
        active[:, 2] = rng.random(n_spend) < 0.5
        cents = _split_cents(rng, np.rint(node_values * 100).astype(np.int64), np.array([c[1] for c in camp]), active)
        cpm = np.array([c[2] for c in camp]) * rng.lognormal(0.0, 0.1, (n_spend, len(camp)))
        impressions = np.rint(cents / 100.0 / cpm * 1000.0).astype(np.int64)
        rows, cols = np.nonzero(active)
        spend_frames.append(
            pd.DataFrame(
                {
                    "date": spend_date[rows],
                    "region": spend_region[rows],
                    "channel": channel,
                    "campaign": np.array([c[0] for c in camp], dtype=object)[cols],
                    "spend": cents[rows, cols] / 100.0,
                    "impressions": impressions[rows, cols],
                }
            )
        )
    ad_spend = pd.concat(spend_frames, ignore_index=True)

    # web_sessions: node traffic plus traffic outside the graph (the mart ignores it).
    facebook = rng.binomial(social_clicks, FACEBOOK_SHARE)
    direct = np.rint(1_500.0 * rng.lognormal(0.0, 0.15, n_cells)).astype(np.int64)
    newsletter_day = np.isin(pd.DatetimeIndex(cell_date).day_of_week, (1, 4))  # Tue, Fri sends
    newsletter = rng.poisson(400.0, n_cells)
    everywhere = np.ones(n_cells, dtype=bool)
    session_parts: list[tuple[str, str, np.ndarray, np.ndarray]] = [
        ("google", "organic", organic, everywhere),
        ("facebook", "paid_social", facebook, everywhere),
        ("instagram", "paid_social", social_clicks - facebook, everywhere),
        ("direct", "(none)", direct, everywhere),
        ("newsletter", "email", newsletter, newsletter_day),
    ]
    web_sessions = pd.concat(
        [
            pd.DataFrame(
                {
                    "date": cell_date[sel],
                    "region": cell_region[sel],
                    "source": source,
                    "medium": medium,
                    "sessions": values[sel].astype(np.int64),
                }
            )
            for source, medium, values, sel in session_parts
        ],
        ignore_index=True,
    )
    web_sessions = web_sessions.sort_values(["date", "region", "source"], ignore_index=True)
    ad_spend = ad_spend.sort_values(["date", "region", "channel", "campaign"], ignore_index=True)

    # orders: count ~ Poisson(revenue / AOV), values a normalised gamma split of the day's
    # revenue, floored to cents (>= 1 cent); the remainder goes on the day's largest order.
    n_orders = np.maximum(1, rng.poisson(revenue / AVERAGE_ORDER_VALUE))
    order_cell = np.repeat(np.arange(n_cells), n_orders)
    starts = np.cumsum(n_orders) - n_orders
    g = rng.gamma(ORDER_VALUE_GAMMA_SHAPE, size=order_cell.size)
    w = g / np.bincount(order_cell, weights=g, minlength=n_cells)[order_cell]
    cents = np.maximum(1, np.floor(w * revenue_cents[order_cell]).astype(np.int64))
    remainder = revenue_cents - np.add.reduceat(cents, starts)
    largest = np.maximum.reduceat(cents, starts)
    is_largest = cents == largest[order_cell]
    first_largest = np.flatnonzero(is_largest)
    first_largest = first_largest[np.unique(order_cell[first_largest], return_index=True)[1]]
    cents[first_largest] += remainder
    # Time of day: uniform seconds, sorted within each date x region.
    seconds = rng.integers(0, 86_400, order_cell.size)
    seconds = seconds[np.lexsort((seconds, order_cell))]  # order_cell is sorted already
    p_organic = organic / (organic + social_clicks)
    last_click = (rng.random(order_cell.size) >= p_organic[order_cell]).astype(np.int8)
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, order_cell.size + 1, dtype=np.int64),
            "ordered_at": cell_date[order_cell] + seconds.astype("timedelta64[s]"),
            "region": pd.Categorical.from_codes(region_idx[order_cell], categories=pd.Index(list(regions))),
            "revenue": cents / 100.0,
            "last_click_channel": pd.Categorical.from_codes(
                last_click, categories=pd.Index(["organic_search", "paid_social"])
            ),
        }
    )

    return {
        "ad_spend": ad_spend,
        "web_sessions": web_sessions,
        "orders": orders,
        "demand_index": demand_index,
        "ground_truth_ici": ground_truth_ici(size.tv_adstock_decay, size.tv_adstock_max_lag),
    }
