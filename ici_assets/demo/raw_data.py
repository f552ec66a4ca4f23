"""Raw demo tables generated from the article's marketing SCM, with the analytic ICI truth.

The article's case study (see the seed notes) is one linear additive-noise model per row:

    Demand         ~ N(100000, 25000)
    TV spend       ~ N(100000, 20000)
    Social spend   ~ N(100000, 25000)
    Organic clicks = 0.75 Demand + 0.50 TV + 0.25 Social + N(0, 2000)
    Social clicks  = 0.30 Demand + 0.50 TV + 0.70 Social + N(100000, 25000)
    Revenue        = Organic clicks + Social clicks + N(0, 2000)

Here one row is one date x region. Every region draws from the same distribution, so the
pooled mart is one SCM. Each node is put into realistic units by a positive affine map
``data = offset + scale * article`` (``NODE_UNITS``). Shares of intrinsic causal influence are
invariant to such maps; the ICI values themselves scale with ``scale_revenue ** 2``.

What the raw tables look like (the dbt project rebuilds the node values from them):

- ``demand_index``: the Demand node as a search-interest index (mean 100).
- ``ad_spend``: TV and social spend in EUR split over 2-3 campaigns per channel and day. With TV
  carryover (the default) the export starts ``tv_adstock_max_lag`` days before the shop data:
  the spend history that the first days' adstock needs.
- ``web_sessions``: organic clicks as google/organic sessions, social clicks split into
  facebook/instagram paid_social sessions, plus direct and newsletter traffic outside the graph.
- ``orders``: one row per order; the orders of a date x region sum exactly to its revenue.
  ``last_click_channel`` is what finance's last-click model credits (never TV).
- ``ground_truth_ici``: the analytic ICI (a_j^2 Var(N_j), data units) and shares in percent.

TV carryover (on by default): brand spend acts with a delay. The clicks respond to the
geometric adstock of each region's daily TV spend, ``tv_adstock_t = sum_{l=0..L} w_l TV_{t-l}``
with ``w_l = decay**l / sum_k decay**k`` (weights sum to 1, so adstock keeps spend's mean and
unit). The article's TV node *is* this adstocked TV pressure (mean 100,000, sd 20,000 in article
units); the daily spend behind it is more volatile, sd 20,000 / sqrt(sum_l w_l**2), so the
population shares stay the article's, with ``tv_adstock`` in place of ``tv_spend``. The dbt
macro ``adstock`` computes the same sum with the same weights (dbt vars ``tv_adstock_decay``,
``tv_adstock_max_lag``; keep them equal to ``TV_ADSTOCK_DECAY``/``TV_ADSTOCK_MAX_LAG``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ici_assets.sql import quote_identifier as _quote
from ici_assets.warehouse import transaction

TARGET = "revenue"
NODES: tuple[str, ...] = (
    "demand",
    "tv_spend",
    "social_spend",
    "organic_clicks",
    "social_clicks",
    "revenue",
)

# Roots of the article's SCM: (mean, sd), article units.
ARTICLE_ROOTS: dict[str, tuple[float, float]] = {
    "demand": (100_000.0, 25_000.0),
    "tv_spend": (100_000.0, 20_000.0),
    "social_spend": (100_000.0, 25_000.0),
}
# Non-roots: (coefficients on parents, noise mean, noise sd), article units.
ARTICLE_EQUATIONS: dict[str, tuple[dict[str, float], float, float]] = {
    "organic_clicks": ({"demand": 0.75, "tv_spend": 0.50, "social_spend": 0.25}, 0.0, 2_000.0),
    "social_clicks": (
        {"demand": 0.30, "tv_spend": 0.50, "social_spend": 0.70},
        100_000.0,
        25_000.0,
    ),
    "revenue": ({"organic_clicks": 1.0, "social_clicks": 1.0}, 0.0, 2_000.0),
}

# data = offset + scale * article. The spend offsets keep daily spend about 5 standard
# deviations above zero at a mean of 5,000 EUR (social: sd 1,000; TV: sd 983 for the daily
# spend under the default carryover, whose adstock has sd 500); a pure scale (mean 5,000,
# sd 1,250) would leave social spend only 4 sd above zero, and truncating there moves its
# share by 0.010 points. The adstocked TV (a weighted mean of daily spend) has TV's units.
NODE_UNITS: dict[str, tuple[float, float]] = {
    "demand": (0.0, 1e-3),  # search interest index, mean 100, sd 25
    "tv_spend": (2_500.0, 0.025),  # EUR per region-day, mean 5,000, sd 500 (adstock)
    "social_spend": (1_000.0, 0.04),  # EUR per region-day, mean 5,000, sd 1,000
    "organic_clicks": (0.0, 0.02),  # google/organic sessions, mean 3,000
    "social_clicks": (0.0, 0.02),  # paid_social sessions, mean 5,000
    "revenue": (0.0, 0.0375),  # EUR per region-day, mean 15,000
}

# TV carryover of the demo (defaults of generate_raw_tables and of the dbt vars
# tv_adstock_decay / tv_adstock_max_lag in dbt_project.yml; keep them equal).
TV_ADSTOCK_DECAY = 0.6
TV_ADSTOCK_MAX_LAG = 7

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

# DuckDB column types used by write_raw_tables for the known tables.
TABLE_SCHEMAS: dict[str, dict[str, str]] = {
    "ad_spend": {
        "date": "DATE",
        "region": "VARCHAR",
        "channel": "VARCHAR",
        "campaign": "VARCHAR",
        "spend": "DECIMAL(12,2)",
        "impressions": "BIGINT",
    },
    "web_sessions": {
        "date": "DATE",
        "region": "VARCHAR",
        "source": "VARCHAR",
        "medium": "VARCHAR",
        "sessions": "BIGINT",
    },
    "orders": {
        "order_id": "BIGINT",
        "ordered_at": "TIMESTAMP",
        "region": "VARCHAR",
        "revenue": "DECIMAL(12,2)",
        "last_click_channel": "VARCHAR",
    },
    "demand_index": {"date": "DATE", "region": "VARCHAR", "search_interest": "DOUBLE"},
    "ground_truth_ici": {"node": "VARCHAR", "ici": "DOUBLE", "share": "DOUBLE"},
}


def adstock_weights(decay: float, max_lag: int) -> np.ndarray:
    """Geometric carryover weights w_0..w_L, normalised to sum to 1 (keeps the mean).

    Computed with plain Python floats in the order the dbt macro ``adstock`` uses (powers,
    a left-to-right sum, one division each), so both give bit-identical weights. No carryover
    (``decay == 0`` or ``max_lag == 0``) is the single weight 1.
    """
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"tv_adstock_decay must be in [0, 1), got {decay}")
    if max_lag < 0:
        raise ValueError(f"tv_adstock_max_lag must be >= 0, got {max_lag}")
    if decay == 0.0 or max_lag == 0:
        return np.ones(1)
    powers = [float(decay) ** lag for lag in range(int(max_lag) + 1)]
    total = 0.0
    for p in powers:
        total = total + p
    return np.array([p / total for p in powers])


def tv_node(tv_adstock_decay: float = TV_ADSTOCK_DECAY, tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG) -> str:
    """Name of the TV node that drives the clicks: ``tv_adstock`` with carryover, else ``tv_spend``."""
    return "tv_adstock" if len(adstock_weights(tv_adstock_decay, tv_adstock_max_lag)) > 1 else "tv_spend"


def structural_coefficients(
    tv_adstock_decay: float = TV_ADSTOCK_DECAY, tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG
) -> dict[str, dict[str, float]]:
    """Causal coefficients of each non-root node on its parents, in the units of the data.

    E.g. ``["revenue"]["organic_clicks"]`` is EUR of revenue per organic session (1.875).
    Offsets only move intercepts, so these are scale_child * b / scale_parent. The TV parent
    is named ``tv_node(...)``: ``tv_adstock`` with carryover (same EUR units as daily spend).
    """
    tv = tv_node(tv_adstock_decay, tv_adstock_max_lag)
    return {
        child: {
            (tv if parent == "tv_spend" else parent): NODE_UNITS[child][1] * b / NODE_UNITS[parent][1]
            for parent, b in coefs.items()
        }
        for child, (coefs, _, _) in ARTICLE_EQUATIONS.items()
    }


def ground_truth_ici(
    tv_adstock_decay: float = TV_ADSTOCK_DECAY, tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG
) -> pd.DataFrame:
    """Population ICI of every node on revenue: a_j^2 Var(N_j) in EUR^2, and shares in percent.

    In a linear ANM with independent noises Revenue = sum_j a_j N_j + const, with a_j the
    total effect of node j, so the Shapley values of Var(E[Y | N_S]) are exactly
    a_j^2 Var(N_j). With TV carryover the node that drives the clicks is the adstocked TV
    spend (reported as ``tv_adstock``): a root with the article's TV distribution (the daily
    spend is drawn with variance Var(TV) / sum(w_l^2)), so the shares are the article's.
    """
    adstock_weights(tv_adstock_decay, tv_adstock_max_lag)  # validates the arguments
    noise_var = {node: sd**2 for node, (_, sd) in ARTICLE_ROOTS.items()}
    noise_var.update({node: sd**2 for node, (_, _, sd) in ARTICLE_EQUATIONS.items()})

    # Total effects on the target (article units), children before parents.
    total = {TARGET: 1.0}
    for node in reversed(NODES[:-1]):
        total[node] = sum(
            coefs[node] * total[child] for child, (coefs, _, _) in ARTICLE_EQUATIONS.items() if node in coefs
        )
    scale_y = NODE_UNITS[TARGET][1]
    ici = np.array([(scale_y * total[n]) ** 2 * noise_var[n] for n in NODES])
    names = list(NODES)
    names[names.index("tv_spend")] = tv_node(tv_adstock_decay, tv_adstock_max_lag)
    return pd.DataFrame({"node": names, "ici": ici, "share": 100.0 * ici / ici.sum()})


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


def simulate_nodes(
    seed: int = 0,
    n_regions: int = 20,
    start_date: str = "2024-01-01",
    n_days: int = 730,
    tv_adstock_decay: float = TV_ADSTOCK_DECAY,
    tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG,
) -> pd.DataFrame:
    """The node values per date x region that ``generate_raw_tables`` (same arguments) spreads
    over the raw tables: what ``marketing_nodes`` must rebuild. Adds ``tv_adstock`` (EUR)
    when TV carryover is on. The spend of the burn-in days before ``start_date`` is in
    ``simulate_spend_history``."""
    return _simulate_nodes(
        np.random.default_rng(seed), n_regions, start_date, n_days, tv_adstock_decay, tv_adstock_max_lag
    )[0]


def simulate_spend_history(
    seed: int = 0,
    n_regions: int = 20,
    start_date: str = "2024-01-01",
    n_days: int = 730,
    tv_adstock_decay: float = TV_ADSTOCK_DECAY,
    tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG,
) -> pd.DataFrame:
    """Daily ``tv_spend`` and ``social_spend`` per date x region over the whole ``ad_spend``
    export: the ``tv_adstock_max_lag`` burn-in days before ``start_date``, then the shop days."""
    return _simulate_nodes(
        np.random.default_rng(seed), n_regions, start_date, n_days, tv_adstock_decay, tv_adstock_max_lag
    )[1]


def _simulate_nodes(
    rng: np.random.Generator,
    n_regions: int,
    start_date: str,
    n_days: int,
    tv_adstock_decay: float,
    tv_adstock_max_lag: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(nodes over the n_days shop days, daily spend over burn-in + shop days)."""
    if n_regions < 1 or n_days < 1:
        raise ValueError(f"n_regions and n_days must be >= 1, got {n_regions}, {n_days}")
    weights = adstock_weights(tv_adstock_decay, tv_adstock_max_lag)
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
    tv_adstock = np.zeros(shape)
    for k, w in enumerate(weights):
        tv_adstock = tv_adstock + float(w) * tv_daily[lag - k : lag - k + n_days]
    tv_adstock = tv_adstock.ravel()
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


def generate_raw_tables(
    seed: int = 0,
    n_regions: int = 20,
    start_date: str = "2024-01-01",
    n_days: int = 730,
    tv_adstock_decay: float = TV_ADSTOCK_DECAY,
    tv_adstock_max_lag: int = TV_ADSTOCK_MAX_LAG,
) -> dict[str, pd.DataFrame]:
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

    ``tv_adstock_decay``/``tv_adstock_max_lag`` (default 0.6 and 7, the dbt vars): when both
    are > 0 the clicks respond to the geometric adstock sum_l w_l TV_{t-l} (w_l proportional
    to decay^l, summing to 1) of each region's TV spend instead of the same day's spend, and
    the ground truth is the one for the adstocked node (``tv_adstock``). ``ad_spend`` records
    daily spend of both channels and starts ``tv_adstock_max_lag`` days before ``start_date``
    (spend history predates the shop data), so the first shop day's adstock is complete; the
    other tables start on ``start_date``. Both 0 gives the article's same-day model.
    """
    rng = np.random.default_rng(seed)
    nodes, history = _simulate_nodes(rng, n_regions, start_date, n_days, tv_adstock_decay, tv_adstock_max_lag)
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
    session_parts = [
        ("google", "organic", organic, slice(None)),
        ("facebook", "paid_social", facebook, slice(None)),
        ("instagram", "paid_social", social_clicks - facebook, slice(None)),
        ("direct", "(none)", direct, slice(None)),
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
            "region": pd.Categorical.from_codes(region_idx[order_cell], categories=list(regions)),
            "revenue": cents / 100.0,
            "last_click_channel": pd.Categorical.from_codes(last_click, categories=["organic_search", "paid_social"]),
        }
    )

    return {
        "ad_spend": ad_spend,
        "web_sessions": web_sessions,
        "orders": orders,
        "demand_index": demand_index,
        "ground_truth_ici": ground_truth_ici(tv_adstock_decay, tv_adstock_max_lag),
    }


def write_raw_tables(con, tables: dict[str, pd.DataFrame], schema: str = "raw") -> None:
    """Write ``tables`` into ``schema`` of the DuckDB connection ``con`` in one transaction.

    Known tables (``TABLE_SCHEMAS``) get their declared column types; other columns keep
    the types DuckDB infers. Existing tables are replaced; on any error nothing changes.
    """
    for name, df in tables.items():
        missing = set(TABLE_SCHEMAS.get(name, {})) - set(df.columns)
        if missing:
            raise ValueError(f"table {name!r} lacks column(s) {sorted(missing)}")
    registered: list[str] = []
    try:
        with transaction(con):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(schema)}")
            for name, df in tables.items():
                view = f"__ici_demo_{name}"
                con.register(view, df)
                registered.append(view)
                types = TABLE_SCHEMAS.get(name, {})
                select = ", ".join(
                    f"CAST({_quote(c)} AS {types[c]}) AS {_quote(c)}" if c in types else _quote(c)
                    for c in map(str, df.columns)
                )
                con.execute(
                    f"CREATE OR REPLACE TABLE {_quote(schema)}.{_quote(name)} AS SELECT {select} FROM {_quote(view)}"
                )
    finally:
        for view in registered:
            con.unregister(view)
