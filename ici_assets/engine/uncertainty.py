"""Bootstrap intervals for the decision quantities (responses, returns, uplifts, contributions).

The resamples are the shares' (`resampling_plan`: blocks of consecutive periods when the SCM knows its
time column, else rows); every mechanism is refitted on each, and the interval is the shares' method
without their [0, 100] bounds (amounts in target units can be of any sign).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from . import intervals
from .bootstrap import statistic_draws
from .ici import resampling_plan
from .resampling import Plan
from .scm import FittedSCM


@dataclass(frozen=True)
class ResamplingSettings:
    """:class:`Resampling` keywords with their defaults, checked before any work."""

    n_bootstrap: int = 0
    seed: int = 0
    resampling: str = "auto"
    block_length: int | None = None
    interval: str = intervals.DEFAULT

    @classmethod
    def of(cls, function: str, options: Mapping[str, Any]) -> ResamplingSettings:
        """The settings of a call of ``function`` (its name, for the message naming an unknown keyword)."""
        unknown = sorted(set(options) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"{function}() got unexpected keyword argument(s): {', '.join(unknown)}")
        settings = cls(**options)
        check_interval(settings.interval)
        return settings

    def rng(self, stream: int) -> np.random.Generator:
        """The resampling generator of one function (``stream`` keeps functions' draws apart)."""
        return np.random.default_rng([self.seed, stream])


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
    settings: ResamplingSettings,
    stream: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(low, high, facts) of `statistic` ((refitted SCM, resample index) -> values like `estimate`); NaN and no
    facts without resamples."""
    n_bootstrap = settings.n_bootstrap
    if not n_bootstrap or n_bootstrap <= 0:
        nan = np.full(len(estimate), np.nan)
        return nan, nan.copy(), {}
    plan = resampling_plan(scm, order, settings.resampling, settings.block_length)
    boot, degenerate = statistic_draws(scm, order, plan, n_bootstrap, settings.rng(stream), statistic)
    low, high = intervals.interval(boot, estimate, settings.interval, df=plan.df, bounds=None)
    return low, high, plan_facts(plan, n_bootstrap, settings.interval, degenerate)
