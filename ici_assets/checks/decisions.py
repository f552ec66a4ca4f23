"""The blocking checks of the decision assets, on plain engine tables (no Dagster here).

Nothing is published unless its checks pass: a response curve must be finite with a small Monte
Carlo error, an attribution's contributions must add up to the observed change, a budget split
must respect its total, bounds and the planners' constraints (max_change, fixed, target marginal return) and
not promise less than the current split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ici_assets.checks.ici import CheckOutcome, rounded

if TYPE_CHECKING:
    import pandas as pd

RESPONSE_CHECKS = ("response_is_finite", "monte_carlo_error_small")
CHANGE_CHECKS = ("contributions_sum_to_change", "contributions_are_finite")
BUDGET_CHECKS = ("allocation_within_bounds", "uplift_not_negative", "allocation_respects_constraints")
ANOMALY_CHECKS = ("anomaly_contributions_sum_to_deviation",)
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
    "allocation_respects_constraints": (
        "No channel moves more than its max_change from its current level, fixed channels stay at it, and with a "
        "target marginal return every channel stops within 2 % of it or at an end of its limits."
    ),
    "anomaly_contributions_sum_to_deviation": (
        "Every explained unit-period's contributions are finite and add up to its deviation from the expected "
        f"target (relative {SUM_TOLERANCE:g} of the largest |target|)."
    ),
}


def _finite(frame: pd.DataFrame, columns: list[str], with_intervals: bool) -> tuple[bool, list[str]]:
    """Whether the columns (interval columns only if there were resamples) are all finite, and which are not."""
    import numpy as np

    bad = [c for c in columns if with_intervals or not c.endswith(("low", "high"))]
    bad = [c for c in bad if not np.isfinite(frame[c].to_numpy(dtype=float)).all()]
    return not bad, bad


def response_checks(table: pd.DataFrame, with_intervals: bool, max_samples: int | None = None) -> list[CheckOutcome]:
    """Finite values, and a Monte Carlo error small against the levels it qualifies. The engine adds draws until
    it is (or every row is simulated, which is exact), so a failure means its cap of ``max_samples`` rows was
    reached: the message names the setting that raises it."""
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
            f"Largest Monte Carlo standard error: {100 * ratio:.3f} % of its level"
            + (
                ""
                if ratio <= MAX_RELATIVE_MC_ERROR
                else f", above {100 * MAX_RELATIVE_MC_ERROR:g} % after simulating "
                + (f"the cap of {max_samples:,} rows" if max_samples else "the rows allowed")
                + ": raise meta.ici.monte_carlo.max_samples to let the engine draw more"
            )
            + ".",
            {"max_relative_mc_se": rounded(ratio, 2), "max_samples": max_samples or 0},
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
    feasible the optimiser starts from it, so a negative uplift is a bug, not a finding; not compared when the
    total is free); it respects the planners' constraints (:func:`constraints_check`)."""
    import numpy as np

    total = float(table["total"].iloc[0])
    rec, lo, hi = (table[c].to_numpy(dtype=float) for c in ("recommended", "lower_bound", "upper_bound"))
    tol = 1e-9 * max(abs(total), 1.0)
    off = [str(n) for n, r, a, b in zip(table["node"], rec, lo, hi) if not a - tol <= r <= b + tol]
    gap = abs(float(rec.sum()) - total)
    cur = table["current"].to_numpy(dtype=float)
    feasible = bool(abs(float(cur.sum()) - total) <= tol and ((cur >= lo - tol) & (cur <= hi + tol)).all())
    target_mode = bool(np.isfinite(table["target_marginal_return"].to_numpy(dtype=float)).any())
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
            target_mode or not feasible or uplift >= -1e-9 * scale,
            f"Expected uplift {uplift:.6g} over the current split"
            + (
                " (target marginal return: the total is free, spending less may earn less; not compared)"
                if target_mode
                else ("" if feasible else " (current split outside the total or bounds: not compared)")
            )
            + ".",
            {"expected_uplift": rounded(uplift, 4), "current_feasible": feasible},
        ),
        constraints_check(table),
    ]


def constraints_check(table: pd.DataFrame) -> CheckOutcome:
    """The recommendation keeps every channel within its max_change of its current level and every fixed channel
    at it; in the target-marginal-return mode every channel inside its limits has a marginal return within 2 % of
    the target, one at the top of its limits at least that (it would spend more), one at the bottom at most that.
    Metadata: the binding constraint of each channel the engine reported."""
    import numpy as np

    from ici_assets.engine.budget_constraints import TARGET_TOLERANCE, held_at_current, table_boxes

    nodes = [str(n) for n in table["node"]]
    rec, cur, change = (table[c].to_numpy(dtype=float) for c in ("recommended", "current", "max_change"))
    fixed = held_at_current(table)  # fixed, or held because its learned transform is not identified
    tol = 1e-9 * max(abs(float(table["total"].iloc[0])), float(np.abs(cur).max(initial=0.0)), 1.0)
    moved = np.abs(rec - cur)
    limited = ~np.isnan(change)
    reach = np.maximum(np.nan_to_num(change) * np.abs(cur), tol)
    problems = [
        f"{n} moved {m:.6g} ({100 * m / abs(c):.3g} %), beyond its max_change {100 * x:g} %"
        for n, m, c, x, on in zip(nodes, moved, cur, change, limited)
        if on and m > x * abs(c) + tol
    ]
    why = ["fixed" if f else "held (not identified)" for f in table["fixed"].to_numpy(dtype=bool)]
    problems += [f"{n} is {w} but moved {m:.6g}" for n, m, f, w in zip(nodes, moved, fixed, why) if f and m > tol]
    targets = table["target_marginal_return"].to_numpy(dtype=float)
    target = float(targets[0]) if np.isfinite(targets).any() else None
    gap = 0.0
    if target is not None:
        lo, hi = table_boxes(table)
        mr = table["marginal_return_recommended"].to_numpy(dtype=float)
        band = TARGET_TOLERANCE * target
        for n, r, g, a, b, f in zip(nodes, rec, mr, lo, hi, fixed):
            inside = abs(g - target) <= band
            if f or inside:
                gap = max(gap, 0.0 if f else abs(g - target) / target)
                continue
            if not ((r >= b - tol and g > target) or (r <= a + tol and g < target)):
                problems.append(
                    f"{n} stops at {r:.6g} with a marginal return of {g:.4g}, not within "
                    f"{100 * TARGET_TOLERANCE:g} % of the target {target:.4g} nor at an end of its limits"
                )
    binding = [f"{n}: {b}" for n, b in zip(nodes, table["binding"]) if isinstance(b, str) and b]
    held = ", ".join(binding) if binding else "none"
    what = (
        "Every constraint holds"
        + (
            f" (the largest move uses {100 * float(np.max(moved[limited] / reach[limited])):.3g} % of its max_change)"
            if limited.any()
            else ""
        )
        + (
            f"; marginal returns of the channels inside their limits within {100 * gap:.2g} % of the target "
            f"{target:.4g}"
            if target is not None
            else ""
        )
        + f". Binding: {held}."
        if not problems
        else "Constraints broken: " + "; ".join(problems) + f". Binding reported: {held}."
    )
    metadata: dict[str, object] = {"binding": held, "n_binding": len(binding)}
    if target is not None:
        metadata |= {"target_marginal_return": rounded(target, 4), "max_target_gap_pct": rounded(100 * gap, 2)}
    return CheckOutcome("allocation_respects_constraints", not problems, what, metadata)


def anomaly_checks(table: pd.DataFrame) -> list[CheckOutcome]:
    """Each explained unit-period's contributions are finite and sum to its deviation."""
    import numpy as np

    if table.empty:
        return [CheckOutcome("anomaly_contributions_sum_to_deviation", True, "No unit-period to explain.", {})]
    per_row = table.groupby("row").agg(total=("contribution", "sum"), deviation=("deviation", "first"))
    scale = max(1.0, float(table["observed"].abs().max()))
    error = float((per_row["total"] - per_row["deviation"]).abs().max())
    finite = bool(np.isfinite(table[["contribution", "deviation", "score"]].to_numpy(dtype=float)).all())
    ok = finite and error <= SUM_TOLERANCE * scale
    what = (
        "Some contribution, deviation or score is not finite: check the node table's last periods."
        if not finite
        else f"Largest |sum of contributions - deviation|: {error:.3g} (tolerance {SUM_TOLERANCE * scale:.3g})."
    )
    return [
        CheckOutcome(
            "anomaly_contributions_sum_to_deviation",
            ok,
            what,
            {"max_error": rounded(error, 2), "n_unit_periods": len(per_row)},
        )
    ]
