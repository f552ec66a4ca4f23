"""The second demo model, with known answers for the decision assets: saturating spend -> clicks -> revenue.

One row per date x region, 2024-01-01 to 2025-12-31, 20 regions. Each month is a SpendCase
(`ici_assets.engine.spendcases`) in euros and sessions:

    demand         ~ N(100 + 6 cos(2 pi (month - 3) / 12), 10)           search-interest index
    tv_spend       ~ log-normal, mean 5,000 EUR per region-day, log-sd 0.7
    social_spend   ~ log-normal, mean 3,000 EUR per region-day, log-sd 0.7
    search_clicks  = 20 demand + 1,500 (1 - exp(-tv_spend / 2,500)) + N(0, 150)      sessions
    social_clicks  =  5 demand + 3,000 (1 - exp(-social_spend / 2,500)) + N(0, 200)  sessions
    revenue        = 200 + 4 search_clicks + 4 social_clicks + N(0, 800)             EUR

Known events: in CTR_DROP_MONTH the social platform's click-through halves (the social clicks cap
falls from 3,000 to 1,500 sessions) and recovers the month after; in TV_FLIGHT_MONTH a TV flight
puts 1.6 times the usual spend on air. Both spend channels saturate (diminishing returns).

Truth, written to `raw` beside the article model's ICI truth:
- ground_truth_response: E[revenue | do(node's mean spend = level)] for the whole period, levels every 250 EUR.
  The model declares learned saturation on both spend nodes (``_media.yml``), so a level scales every
  region-day's spend by level / (the period's mean spend), as ``engine.interventions`` reads it: each month's
  log-normal spend keeps its spread (and the TV flight its 1.6x), its mean scaled by that factor, and the
  curve is the day-weighted average of the months' (what a model fitted on all days estimates). The budget's
  truth is the same scaling of both nodes at once (``scaled_revenue``, ``scaled_best_split``).
- ground_truth_returns: per spend node, the revenue it causes over the generated rows against zero spend
  (through the true mechanisms) and the true ROI.
- ground_truth_change: each month's change in mean revenue against the month before, split by the exact
  Shapley attribution over the six nodes (roots: distribution; others: mechanism) of the two months'
  parameters (population values: the observed change of a sample also carries its sampling noise).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ici_assets.demo.tables import N_REGIONS
from ici_assets.engine.spendcases import SPEND_NODES, SpendCase

START, END = "2024-01-01", "2025-12-31"
CTR_DROP_MONTH = "2025-03"
TV_FLIGHT_MONTH = "2025-06"
TV_FLIGHT_FACTOR = 1.6
RESPONSE_GRID = {"tv_spend": np.arange(0.0, 20_001.0, 250.0), "social_spend": np.arange(0.0, 12_001.0, 250.0)}

BASE = SpendCase(
    demand_mean=100.0,
    demand_sd=10.0,
    tv_mean=5_000.0,
    tv_logsd=0.7,
    social_mean=3_000.0,
    social_logsd=0.7,
    search_per_demand=20.0,
    search_cap=1_500.0,
    search_scale=2_500.0,
    search_sd=150.0,
    social_per_demand=5.0,
    social_cap=3_000.0,
    social_scale=2_500.0,
    social_sd=200.0,
    revenue_base=200.0,
    revenue_per_search=4.0,
    revenue_per_social=4.0,
    revenue_sd=800.0,
)


def months() -> pd.PeriodIndex:
    return pd.period_range(START, END, freq="M")


def month_case(month: pd.Period) -> SpendCase:
    """The SpendCase of one month: seasonal demand, and the two events."""
    case = replace(BASE, demand_mean=BASE.demand_mean + 6.0 * np.cos(2 * np.pi * (month.month - 3) / 12))
    if str(month) == CTR_DROP_MONTH:
        case = replace(case, social_cap=BASE.social_cap / 2)
    if str(month) == TV_FLIGHT_MONTH:
        case = replace(case, tv_mean=BASE.tv_mean * TV_FLIGHT_FACTOR)
    return case


def media_tables(seed: int = 0, n_regions: int = N_REGIONS) -> dict[str, pd.DataFrame]:
    """The media model's raw tables: the daily export (``n_regions`` regions) and its two truth tables
    (population values: the same for any number of regions) and the true return on each channel's spend over
    these rows."""
    daily = media_daily(seed, n_regions)
    return {
        "media_daily": daily,
        "ground_truth_response": ground_truth_response(),
        "ground_truth_change": ground_truth_change(),
        "ground_truth_returns": ground_truth_returns(daily),
    }


def media_daily(seed: int = 0, n_regions: int = N_REGIONS) -> pd.DataFrame:
    """raw.media_daily: one row per date x region (sessions as whole numbers, money in cents)."""
    rng = np.random.default_rng([seed, 0x3ED])
    regions = [f"R{r:02d}" for r in range(1, n_regions + 1)]
    frames = []
    for month in months():
        days = pd.date_range(month.start_time, month.end_time.normalize(), freq="D")
        nodes = month_case(month).simulate(len(days) * n_regions, rng)
        frames.append(
            pd.DataFrame(
                {
                    "date": np.repeat(days.date, n_regions),
                    "region": np.tile(regions, len(days)),
                    "demand_index": nodes["demand"].round(3),
                    "tv_spend_eur": nodes["tv_spend"].round(2),
                    "social_spend_eur": nodes["social_spend"].round(2),
                    "search_sessions": nodes["search_clicks"].round().astype("int64"),
                    "social_sessions": nodes["social_clicks"].round().astype("int64"),
                    "revenue_eur": nodes["revenue"].round(2),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


MEAN_FIELD = {"tv_spend": "tv_mean", "social_spend": "social_mean"}


def _weights() -> np.ndarray:
    weights = np.array([m.days_in_month for m in months()], dtype=float)
    return weights / weights.sum()


def mean_spend(node: str) -> float:
    """The period's population mean spend of a node, EUR per region-day (day-weighted over the months)."""
    return float(_weights() @ [getattr(month_case(m), MEAN_FIELD[node]) for m in months()])


def scaled_revenue(levels: dict[str, float]) -> float:
    """E[revenue] over the period when every region-day's spend of each node in ``levels`` is scaled so that its
    mean is the level (the others as generated): each month's spend mean scaled, its spread kept (exact)."""
    factor = {node: float(level) / mean_spend(node) for node, level in levels.items()}
    values = []
    for m in months():
        case = month_case(m)
        scaled = {MEAN_FIELD[n]: getattr(case, MEAN_FIELD[n]) * f for n, f in factor.items()}
        values.append(replace(case, **scaled).expected_revenue())
    return float(_weights() @ values)


def scaled_best_split(total: float, bounds: dict[str, tuple[float, float]], n_grid: int = 101) -> dict[str, float]:
    """The split of ``total`` (mean EUR per region-day) over tv_spend and social_spend maximising
    ``scaled_revenue`` within ``bounds``: one free variable (TV), a grid of ``n_grid`` levels refined twice around
    its best point (the objective is concave: both responses are averages of 1 - exp)."""
    lo = max(bounds["tv_spend"][0], total - bounds["social_spend"][1])
    hi = min(bounds["tv_spend"][1], total - bounds["social_spend"][0])
    tv = lo
    for _ in range(3):
        grid = np.linspace(lo, hi, n_grid)
        values = [scaled_revenue({"tv_spend": x, "social_spend": total - x}) for x in grid]
        i = int(np.argmax(values))
        tv, lo, hi = float(grid[i]), float(grid[max(i - 1, 0)]), float(grid[min(i + 1, n_grid - 1)])
    return {"tv_spend": tv, "social_spend": total - tv}


def ground_truth_response() -> pd.DataFrame:
    """raw.ground_truth_response: node, level (mean EUR per region-day), expected_revenue over the whole period,
    each node's spend scaled to the level (see the module docstring)."""
    rows = []
    for node, grid in RESPONSE_GRID.items():
        values = [scaled_revenue({node: float(x)}) for x in grid]
        rows.append(pd.DataFrame({"node": node, "level": grid, "expected_revenue": values}))
    return pd.concat(rows, ignore_index=True)


def average_case() -> SpendCase:
    """One SpendCase whose E[revenue | do(tv_spend, social_spend)] (both set, as a budget does) is the
    day-weighted average of the months' (additive in the clicks: averaging the social cap and the demand mean
    is exact). Its best_split is the true best budget split of the whole period."""
    weights = np.array([m.days_in_month for m in months()], dtype=float)
    weights /= weights.sum()
    cases = [month_case(m) for m in months()]
    return replace(
        BASE,
        demand_mean=float(weights @ [c.demand_mean for c in cases]),
        social_cap=float(weights @ [c.social_cap for c in cases]),
    )


def ground_truth_change() -> pd.DataFrame:
    """raw.ground_truth_change: period, baseline_period (first days of the months), node, contribution, change
    (population values, EUR per row)."""
    rows = []
    ms = list(months())
    for before, month in zip(ms, ms[1:]):
        old, new = month_case(before), month_case(month)
        truth = old.change_truth(new)
        change = new.expected_revenue() - old.expected_revenue()
        for node in SPEND_NODES:
            rows.append((month.start_time.date(), before.start_time.date(), node, truth[node], change))
    return pd.DataFrame(rows, columns=["period", "baseline_period", "node", "contribution", "change"])


def ground_truth_returns(daily: pd.DataFrame) -> pd.DataFrame:
    """raw.ground_truth_returns: per spend node, its total over the rows of ``daily`` (raw.media_daily), the
    revenue it causes there (revenue as generated minus with that spend at zero, each row through the true
    mechanisms of its month: noise and the other nodes unchanged) and their ratio, the true ROI (EUR per EUR)."""
    month = pd.to_datetime(daily["date"]).dt.to_period("M")
    columns = {"tv_spend": "tv_spend_eur", "social_spend": "social_spend_eur"}
    totals = {node: 0.0 for node in columns}
    for m, rows in daily.groupby(month):
        case = month_case(m)
        tv, social = rows["tv_spend_eur"].to_numpy(float), rows["social_spend_eur"].to_numpy(float)
        totals["tv_spend"] += (
            case.revenue_per_search * case.search_cap * float(np.sum(1 - np.exp(-tv / case.search_scale)))
        )
        totals["social_spend"] += (
            case.revenue_per_social * case.social_cap * float(np.sum(1 - np.exp(-social / case.social_scale)))
        )
    spend = {node: float(daily[column].sum()) for node, column in columns.items()}
    return pd.DataFrame(
        {
            "node": list(columns),
            "spend": [spend[n] for n in columns],
            "incremental_revenue": [totals[n] for n in columns],
            "roi": [totals[n] / spend[n] for n in columns],
        }
    )
