"""Bootstrap intervals for the decision quantities (responses, returns, uplifts, contributions).

The resamples are the shares' (`resampling_plan`: blocks of consecutive periods when the SCM knows its
time column, else rows); every mechanism is refitted on each, and the interval is the shares' method
without their [0, 100] bounds (amounts in target units can be of any sign).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import intervals
from .bootstrap import statistic_draws
from .ici import resampling_plan
from .resampling import Plan
from .scm import FittedSCM


def check_interval(interval: str) -> None:
    """Raise before any work if the interval method is unknown."""
    if interval not in intervals.METHODS:
        raise ValueError(f"unknown interval {interval!r}: use one of {', '.join(map(repr, intervals.METHODS))}")


def plan_facts(plan: Plan, n_bootstrap: int, interval: str, degenerate: int) -> dict[str, Any]:
    """How the intervals were obtained, for table.attrs['facts'] and asset metadata."""
    facts: dict[str, Any] = {
        "n_bootstrap": int(n_bootstrap),
        "resampling": plan.kind,
        "interval": interval,
        "n_degenerate": int(degenerate),
    }
    if plan.kind == "block":
        facts["block_length"] = plan.block_length
    return facts


def bootstrap_interval(
    scm: FittedSCM,
    order: list[Any],
    estimate: np.ndarray,
    statistic: Callable[[FittedSCM, int], np.ndarray],
    *,
    n_bootstrap: int,
    rng: np.random.Generator,
    resampling: str = "auto",
    block_length: int | None = None,
    interval: str = intervals.DEFAULT,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(low, high, facts) of `statistic` ((refitted SCM, resample index) -> values like `estimate`); NaN and no
    facts without resamples."""
    if not n_bootstrap or n_bootstrap <= 0:
        nan = np.full(len(estimate), np.nan)
        return nan, nan.copy(), {}
    plan = resampling_plan(scm, order, resampling, block_length)
    boot, degenerate = statistic_draws(scm, order, plan, n_bootstrap, rng, statistic)
    low, high = intervals.interval(boot, estimate, interval, df=plan.df, bounds=None)
    return low, high, plan_facts(plan, n_bootstrap, interval, degenerate)
