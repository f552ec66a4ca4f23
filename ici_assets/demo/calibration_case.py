"""The third demo model, with known answers for lift-test calibration: a weekly national shop whose TV spend
follows a demand signal that is not a node (the team spends more when it expects to sell).

    demand        ~ N(0, 30,000)                        hidden: in no table the plugin reads
    social_spend  ~ N(60,000, 15,000)                   EUR per week
    tv_spend      = 0.8 demand + N(100,000, 20,000)     EUR per week
    search_clicks = 0.04 tv + 0.05 social + N(2,000, 2,000)
    revenue       = 15 search + 0.4 tv + 0.3 social + 0.64 demand + N(50,000, 15,000)   EUR per week

TV's true return is 0.04 x 15 + 0.4 = 1.0 EUR of revenue per EUR; least squares on the graph without demand gives
about 1.4 (demand's part of revenue is credited to TV). One geo-free national lift test on TV (4 weeks, +25,000 EUR
a week) measured the true lift with a 10 % standard error: calibrated to it, TV's return is 1.0 again. The truth
(each node's return and ICI share under the calibrated model's definition: engine.confoundcases.confounded_truth on
these rows) is in raw.ground_truth_calibration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ici_assets.engine.cases import LinearANM
from ici_assets.engine.confoundcases import confounded_truth

WEEKLY = LinearANM(
    roots={"demand": (0.0, 30_000.0), "social_spend": (60_000.0, 15_000.0)},
    equations={
        "tv_spend": ({"demand": 0.8}, 100_000.0, 20_000.0),
        "search_clicks": ({"tv_spend": 0.04, "social_spend": 0.05}, 2_000.0, 2_000.0),
        "revenue": (
            {"search_clicks": 15.0, "tv_spend": 0.4, "social_spend": 0.3, "demand": 0.64},
            50_000.0,
            15_000.0,
        ),
    },
    target="revenue",
)
HIDDEN = "demand"
N_WEEKS = 156
START = "2023-01-02"  # a Monday
#: The lift test: TV raised by 25,000 EUR a week for 4 weeks, nationally; lift at the true return, 10 % error.
TEST_START, TEST_END, TEST_SPEND = "2025-03-03", "2025-03-30", 100_000.0
TEST_RELATIVE_SE = 0.10


def weekly_nodes(seed: int = 0) -> pd.DataFrame:
    """The nodes per week with the hidden demand (to compute the truth on the same rows)."""
    frame = WEEKLY.simulate(N_WEEKS, np.random.default_rng([seed, 0xCA1]))
    frame.insert(0, "date", pd.date_range(START, periods=N_WEEKS, freq="7D").date)
    return frame


def calibration_tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """raw.weekly_sales (no demand column), raw.lift_tests (one test on TV at the true lift) and
    raw.ground_truth_calibration (true return and share per node on these rows)."""
    nodes = weekly_nodes(seed)
    sales = pd.DataFrame(
        {
            "date": nodes["date"],
            "tv_spend_eur": nodes["tv_spend"].round(2),
            "social_spend_eur": nodes["social_spend"].round(2),
            "search_sessions": nodes["search_clicks"].round().astype("int64"),
            "revenue_eur": nodes["revenue"].round(2),
        }
    )
    truth = confounded_truth(nodes.drop(columns="date"), WEEKLY, HIDDEN)
    lift = truth["returns"]["tv_spend"] * TEST_SPEND
    tests = pd.DataFrame(
        {
            "test": ["tv_geo_holdout_2025_03"],
            "node": ["tv_spend"],
            "unit": [None],
            "start_period": [pd.Timestamp(TEST_START).date()],
            "end_period": [pd.Timestamp(TEST_END).date()],
            "spend_change": [TEST_SPEND],
            "lift": [lift],
            "lift_se": [TEST_RELATIVE_SE * lift],
        }
    )
    nodes_order = [n for n in WEEKLY.nodes if n != HIDDEN]
    ground = pd.DataFrame(
        {
            "node": nodes_order,
            "true_return": [float(truth["returns"][n]) for n in nodes_order],
            "share": [float(truth["shares"][n]) for n in nodes_order],
        }
    )
    return {"weekly_sales": sales, "lift_tests": tests, "ground_truth_calibration": ground}
