"""What the demo's third model (weekly_nodes, calibrated to its lift test) adds to `make demo`'s compute, in isolation.

Run: uv run --frozen python benchmarks/bench_weekly_demo.py
The engine calls its assets make on the demo's 156 weekly rows (seed 0), each for the calibrated and the
uncalibrated SCM as the assets publish both: fit and calibrate (scm), ICI with 20 resamples (shares), response curves
and channel returns with 20 resamples (spend_response), and the budget (off in the demo's meta: its cost if turned
on). Warm timings (a first pass loads the numeric stack, as the demo's earlier models do), then the answers beside
the truth. Dagster's step overhead, charts and the HTML report are not included.
"""

from __future__ import annotations

import time

import pandas as pd

from ici_assets import engine
from ici_assets.demo.calibration_case import calibration_tables

EDGES = [
    ("tv_spend", "search_clicks"),
    ("social_spend", "search_clicks"),
    ("search_clicks", "revenue"),
    ("tv_spend", "revenue"),
    ("social_spend", "revenue"),
]
LEVELS = {"tv_spend": [60000, 80000, 100000, 120000, 140000], "social_spend": [30000, 45000, 60000, 75000, 90000]}
BOUNDS = {"tv_spend": (60000, 140000), "social_spend": (30000, 90000)}
N_BOOTSTRAP = 20


def weekly_frame(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The node table as the weekly_nodes dbt model builds it."""
    columns = {"tv_spend_eur": "tv_spend", "social_spend_eur": "social_spend", "search_sessions": "search_clicks"}
    frame = tables["weekly_sales"].rename(columns={**columns, "revenue_eur": "revenue"})
    return frame.assign(search_clicks=frame["search_clicks"].astype(float), date=pd.to_datetime(frame["date"]))


def run(frame: pd.DataFrame, tests: pd.DataFrame) -> tuple[dict[str, float], dict[str, object]]:
    """Seconds per asset's engine work, and the answers."""
    boot = engine.Bootstrap(n_bootstrap=N_BOOTSTRAP, seed=0)
    seconds, out = {}, {}
    start = time.perf_counter()
    scm = engine.fit_scm(frame, EDGES, mechanisms="linear", time_column="date")
    calibrated = engine.calibrate_scm(scm, "revenue", tests, units=set())
    seconds["scm (fit + calibrate)"] = time.perf_counter() - start
    models = {"calibrated": calibrated.facts.scm, "uncalibrated": scm}
    start = time.perf_counter()
    out["shares"] = {k: engine.estimate_ici(m, "revenue", bootstrap=boot).table for k, m in models.items()}
    seconds["shares x2"] = time.perf_counter() - start
    start = time.perf_counter()
    for m in models.values():
        for node, levels in LEVELS.items():
            engine.spend_response(m, "revenue", node, levels, bootstrap=boot)
    out["returns"] = {
        k: engine.channel_returns(m, "revenue", list(LEVELS), bootstrap=boot).table for k, m in models.items()
    }
    seconds["spend_response + channel_returns x2"] = time.perf_counter() - start
    start = time.perf_counter()
    out["budget"] = {
        k: engine.optimise_budget(m, "revenue", list(LEVELS), None, bounds=BOUNDS, bootstrap=boot).table
        for k, m in models.items()
    }
    seconds["budget x2 (off in the demo)"] = time.perf_counter() - start
    return seconds, out


def main() -> None:
    tables = calibration_tables(0)
    frame, tests = weekly_frame(tables), tables["lift_tests"].set_index("test")
    run(frame, tests)  # warm-up
    seconds, out = run(frame, tests)
    for name, s in seconds.items():
        print(f"{name:40s} {s:6.2f} s")
    print(f"{'total (demo: without the budget)':40s} {sum(seconds.values()):6.2f} s")
    truth = tables["ground_truth_calibration"].set_index("node")
    for kind in ("uncalibrated", "calibrated"):
        roi = out["returns"][kind].set_index("node")["roi"]  # type: ignore[index]
        share = out["shares"][kind].set_index("node")["share"]  # type: ignore[index]
        print(
            f"{kind:>12s}: TV return {roi['tv_spend']:.3f} (truth {truth.loc['tv_spend', 'true_return']:.2f}), "
            f"TV share {share['tv_spend']:.1f} % (truth {truth.loc['tv_spend', 'share']:.1f} %)"
        )


if __name__ == "__main__":
    main()
