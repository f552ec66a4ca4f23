"""The blocking checks of the decision assets, on plain engine tables (no Dagster here).

Nothing is published unless its checks pass: a response curve must be finite with a small Monte
Carlo error, an attribution's contributions must add up to the observed change, a budget split
must respect its total and bounds and not promise less than the current split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ici_assets.checks.ici import CheckOutcome, rounded

if TYPE_CHECKING:
    import pandas as pd

RESPONSE_CHECKS = ("response_is_finite", "monte_carlo_error_small")
CHANGE_CHECKS = ("contributions_sum_to_change", "contributions_are_finite")
BUDGET_CHECKS = ("allocation_within_bounds", "uplift_not_negative")
MAX_RELATIVE_MC_ERROR = 0.005  # of the expected target
SUM_TOLERANCE = 1e-9  # relative to the observed change
DECISION_DESCRIPTIONS = {
    "response_is_finite": "Every expected target, interval and marginal return of the response curve is finite.",
    "monte_carlo_error_small": (
        f"The Monte Carlo standard error of every simulated level is below {100 * MAX_RELATIVE_MC_ERROR:g} % of it."
    ),
    "contributions_sum_to_change": f"Contributions add up to the observed change (relative {SUM_TOLERANCE:g}).",
    "contributions_are_finite": "Every contribution and interval is finite.",
    "allocation_within_bounds": "The recommended split adds up to the total and respects every bound.",
    "uplift_not_negative": "The recommended split is expected to do at least as well as the current one.",
}


def _finite(frame: pd.DataFrame, columns: list[str], with_intervals: bool) -> tuple[bool, list[str]]:
    """Whether the columns (interval columns only if there were resamples) are all finite, and which are not."""
    import numpy as np

    bad = [c for c in columns if with_intervals or not c.endswith(("low", "high"))]
    bad = [c for c in bad if not np.isfinite(frame[c].to_numpy(dtype=float)).all()]
    return not bad, bad


def response_checks(table: pd.DataFrame, with_intervals: bool) -> list[CheckOutcome]:
    """Finite values, and a Monte Carlo error small against the levels it qualifies."""
    ok, bad = _finite(
        table,
        ["expected_target", "low", "high", "marginal_return", "current_marginal_low", "current_marginal_high"],
        with_intervals,
    )
    ratio = float((table["mc_se"] / table["expected_target"].abs().clip(lower=1e-12)).max()) if len(table) else 0.0
    return [
        CheckOutcome(
            "response_is_finite",
            ok,
            f"Non-finite values in {bad}: check the mechanisms and levels." if bad else "Every value is finite.",
            {"n_levels": len(table)},
        ),
        CheckOutcome(
            "monte_carlo_error_small",
            ratio <= MAX_RELATIVE_MC_ERROR,
            f"Largest Monte Carlo standard error: {100 * ratio:.3f} % of its level.",
            {"max_relative_mc_se": rounded(ratio, 2)},
        ),
    ]


def change_checks(table: pd.DataFrame, with_intervals: bool) -> list[CheckOutcome]:
    """The contributions add up to the observed change and are finite."""
    change = float(table["observed_change"].iloc[0])
    gap = abs(float(table["contribution"].sum()) - change)
    relative = gap / abs(change) if change else gap
    ok, bad = _finite(table, ["contribution", "low", "high"], with_intervals)
    return [
        CheckOutcome(
            "contributions_sum_to_change",
            relative <= SUM_TOLERANCE,
            f"Contributions miss the observed change {change:.6g} by {gap:.3g} (relative {relative:.1e}).",
            {"observed_change": rounded(change, 4), "relative_gap": rounded(relative, 2)},
        ),
        CheckOutcome(
            "contributions_are_finite",
            ok,
            f"Non-finite values in {bad}." if bad else "Every contribution is finite.",
            {"n_nodes": len(table)},
        ),
    ]


def budget_checks(table: pd.DataFrame) -> list[CheckOutcome]:
    """The split respects its total and bounds; its expected uplift is not negative (when today's split is
    feasible the optimiser starts from it, so a negative uplift is a bug, not a finding)."""
    total = float(table["total"].iloc[0])
    rec, lo, hi = (table[c].to_numpy(dtype=float) for c in ("recommended", "lower_bound", "upper_bound"))
    tol = 1e-9 * max(abs(total), 1.0)
    off = [str(n) for n, r, a, b in zip(table["node"], rec, lo, hi) if not a - tol <= r <= b + tol]
    gap = abs(float(rec.sum()) - total)
    cur = table["current"].to_numpy(dtype=float)
    feasible = bool(abs(float(cur.sum()) - total) <= tol and ((cur >= lo - tol) & (cur <= hi + tol)).all())
    uplift = float(table["expected_uplift"].iloc[0])
    scale = abs(float(table["expected_current"].iloc[0])) or 1.0
    return [
        CheckOutcome(
            "allocation_within_bounds",
            not off and gap <= tol,
            f"Split sums to {rec.sum():.6g} of {total:.6g}" + (f"; outside bounds: {off}" if off else "") + ".",
            {"total": rounded(total, 4), "gap": rounded(gap, 2)},
        ),
        CheckOutcome(
            "uplift_not_negative",
            not feasible or uplift >= -1e-9 * scale,
            f"Expected uplift {uplift:.6g} over the current split"
            + ("" if feasible else " (current split outside the total or bounds: not compared)")
            + ".",
            {"expected_uplift": rounded(uplift, 4), "current_feasible": feasible},
        ),
    ]
