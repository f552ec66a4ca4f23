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
from .resampling import Bootstrap, resampling_plan
from .scm import FittedSCM


def bootstrap_interval(
    scm: FittedSCM,
    order: list[Any],
    estimate: np.ndarray,
    statistic: Callable[[FittedSCM, int], np.ndarray],
    settings: Bootstrap,
    stream: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(low, high, facts) of `statistic` ((refitted SCM, resample index) -> values like `estimate`); NaN and no
    facts without resamples. The facts are :class:`result.Facts` fields (``Bootstrap.facts``)."""
    if not settings.active:
        nan = np.full(len(estimate), np.nan)
        return nan, nan.copy(), {}
    plan = resampling_plan(scm, order, settings.resampling, settings.block_length)
    boot, degenerate = statistic_draws(scm, order, plan, settings.n_bootstrap, settings.rng(stream), statistic)
    low, high = intervals.interval(boot, estimate, settings.interval, level=settings.level, df=plan.df, bounds=None)
    return low, high, settings.facts(plan, degenerate)
