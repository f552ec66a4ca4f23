"""The blocking check `allocation_respects_constraints` on budget tables: it names what is broken, and the binding
constraints go into its metadata."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ici_assets.checks.decisions import BUDGET_CHECKS, budget_checks, constraints_check


def table(recommended: list[float], **columns: object) -> pd.DataFrame:
    """Two channels at 100 and 50 today, bounds [0, 400], no constraint unless given."""
    base: dict[str, object] = {
        "node": ["tv", "social"],
        "total": float(sum(recommended)),
        "current": [100.0, 50.0],
        "recommended": recommended,
        "lower_bound": 0.0,
        "upper_bound": 400.0,
        "max_change": np.nan,
        "fixed": False,
        "target_marginal_return": np.nan,
        "binding": "",
        "marginal_return_recommended": [2.0, 2.0],
        "expected_uplift": 1.0,
        "expected_current": 1000.0,
    }
    return pd.DataFrame(base | columns)


def test_max_change_and_fixed_are_enforced_and_named() -> None:
    ok = constraints_check(table([120.0, 30.0], max_change=[0.2, 0.4], binding=["max_change", "max_change"]))
    assert ok.passed and ok.metadata == {"binding": "tv: max_change, social: max_change", "n_binding": 2}
    assert "the largest move uses 100 % of its max_change" in ok.description
    broken = constraints_check(table([121.0, 29.0], max_change=0.2))
    assert not broken.passed
    assert "tv moved 21 (21 %), beyond its max_change 20 %" in broken.description
    assert "social moved 21 (42 %), beyond its max_change 20 %" in broken.description
    moved = constraints_check(table([101.0, 49.0], fixed=[True, False], binding=["fixed", ""]))
    assert not moved.passed and "tv is fixed but moved 1" in moved.description
    assert moved.metadata["binding"] == "tv: fixed"


def test_target_mode_wants_each_channel_within_2_percent_or_at_a_limit() -> None:
    within = table(
        [180.0, 400.0],
        target_marginal_return=1.5,
        marginal_return_recommended=[1.52, 1.9],
        binding=["target_marginal_return", "upper bound"],
    )
    ok = constraints_check(within)
    assert ok.passed and ok.metadata["max_target_gap_pct"] == 1.3 and ok.metadata["target_marginal_return"] == 1.5
    off = within.assign(marginal_return_recommended=[1.56, 1.9])
    bad = constraints_check(off)
    assert not bad.passed and "tv stops at 180 with a marginal return of 1.56, not within 2 % of the target 1.5" in (
        bad.description
    )
    wrong_side = within.assign(marginal_return_recommended=[1.5, 1.2])  # at its top but returning less: overspent
    assert not constraints_check(wrong_side).passed
    outcomes = budget_checks(within)
    assert [o.name for o in outcomes] == list(BUDGET_CHECKS) and all(o.passed for o in outcomes)
    assert "the total is free" in outcomes[1].description  # a lower expected target is no failure here
