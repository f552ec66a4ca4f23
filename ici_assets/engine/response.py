"""Spend response curves: E[target | do(node = level)] per level, with marginal and incremental returns.

A level is the node's value in every row of the node table (spend per unit-period: per region-day
in the demo), in the node's own units. The marginal return is d E[target] / d level (target units
per unit of the node) and the incremental return the average slope between a level and the one
before. Intervals refit every mechanism on resamples drawn with the shares' plan (blocks of
consecutive periods when the SCM knows its time column).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .interventions import DEFAULT_SAMPLES, Interventional
from .montecarlo import DEFAULT_MAX_SAMPLES, DEFAULT_TOLERANCE, MonteCarlo, refine
from .resampling import Bootstrap
from .result import EngineResult, ResponseFacts
from .scm import FittedSCM
from .uncertainty import bootstrap_interval

RESPONSE_COLUMNS = [
    "node",
    "level",
    "expected_target",
    "low",
    "high",
    "mc_se",
    "marginal_return",
    "incremental_return",
    "extrapolated",
    "current_level",
    "current_marginal_return",
    "current_marginal_low",
    "current_marginal_high",
    "method",
    "transform_identified",
]


def check_levels(node: Any, levels: Sequence[float]) -> np.ndarray:
    """Levels as a sorted float array; raise naming the node if empty, non-finite or repeated."""
    x = np.asarray(list(levels), dtype=float).ravel()
    if x.size == 0:
        raise ValueError(f"no levels given for node {node!r}: pass at least one spend level")
    if not np.isfinite(x).all():
        raise ValueError(f"levels for node {node!r} must be finite numbers, got {list(levels)!r}")
    x = np.sort(x)
    if (np.diff(x) == 0).any():
        raise ValueError(f"levels for node {node!r} repeat a value ({x.tolist()}): give each level once")
    return x


def _levels(ev: Interventional, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(expected target, Monte Carlo SE) per level."""
    out = np.array([ev.expected([x]) for x in levels])
    return out[:, 0], out[:, 1]


def _curve(ev: Interventional, levels: np.ndarray, every_margin: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(values, Monte Carlo SEs): expected target per level, the marginal return per level (if `every_margin`),
    and the marginal return at the current level, last."""
    values, ses = [], []
    for x in levels:
        m, se = ev.expected([x])
        values.append(m)
        ses.append(se)
    for x in [*(levels if every_margin else []), ev.current[0]]:
        g, gse = ev.gradient([x])
        values.append(g[0])
        ses.append(gse[0])
    return np.array(values), np.array(ses)


def spend_response(
    scm: FittedSCM,
    target: Any,
    node: Any,
    levels: Sequence[float],
    *,
    n_samples: int = DEFAULT_SAMPLES,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    mc_tolerance: float = DEFAULT_TOLERANCE,
    bootstrap: Bootstrap | None = None,
    **options: Any,
) -> EngineResult[ResponseFacts]:
    """One row per level (sorted): expected target under do(node = level) with its interval, marginal and
    incremental returns, and the marginal return at the current level (the node's mean) with its interval.
    Closed form where the mechanisms on the paths from node to target are linear (the marginal return is then
    the fitted total effect at every level); otherwise forward simulation over at most `n_samples` noise rows
    (`mc_se`: Monte Carlo error), more rows (up to `max_samples`, nested, logged) while a level's error is above
    `mc_tolerance` of it; every row simulated is exact (error 0). Each resample of the intervals simulates
    `n_samples` rows (its Monte Carlo noise widens the interval a little; it is not the estimate's).
    Intervals and the seed: the :class:`Bootstrap` keywords (n_bootstrap, seed, resampling, block_length,
    interval, level), or ``bootstrap=Bootstrap(...)``. Returns the table and its :class:`ResponseFacts`.
    """
    start = time.perf_counter()
    settings = Bootstrap.of("spend_response", bootstrap, options)
    seed = settings.seed
    x = check_levels(node, levels)
    mc_settings = MonteCarlo(tolerance=mc_tolerance, max_samples=max_samples, n_samples=n_samples)
    ev = Interventional(scm, target, [node], n_samples=n_samples, seed=seed)
    _, _, precision = refine(ev, lambda: _levels(ev, x), mc_settings, f"spend_response of {target} to {node}")
    est, mc = _curve(ev, x)
    L = len(x)

    def statistic(refit: FittedSCM, _: int) -> np.ndarray:
        return _curve(Interventional(refit, target, [node], n_samples=n_samples, seed=seed), x, False)[0]

    low, high, boot_facts = bootstrap_interval(  # the levels' expected target and the current marginal return
        scm,
        ev.order,
        np.append(est[:L], est[-1]),
        statistic,
        settings,
        stream=0x5E5,
    )
    expected, marginal = est[:L], est[L : 2 * L]
    incremental = np.concatenate([[np.nan], np.diff(expected) / np.diff(x)])
    lo_obs, hi_obs = ev.observed[0]
    table = pd.DataFrame(
        {
            "node": node,
            "level": x,
            "expected_target": expected,
            "low": low[:L],
            "high": high[:L],
            "mc_se": mc[:L],
            "marginal_return": marginal,
            "incremental_return": incremental,
            "extrapolated": (x < lo_obs) | (x > hi_obs),
            "current_level": ev.current[0],
            "current_marginal_return": est[-1],
            "current_marginal_low": low[-1],
            "current_marginal_high": high[-1],
            "method": ev.method,
            "transform_identified": pd.array([scm.transform_identified(node)] * L, dtype="boolean"),
        },
        columns=RESPONSE_COLUMNS,
    )
    facts = ResponseFacts(
        **ev.facts_fields(),
        max_mc_se=float(mc[:L].max()),
        node=str(node),
        current_level=float(ev.current[0]),
        observed_range=(float(lo_obs), float(hi_obs)),
        target_mean=float(ev.mean_target),
        max_relative_mc_se=precision.max_relative_se,
        mc_capped=precision.capped,
        seconds=time.perf_counter() - start,
        **boot_facts,
    )
    return EngineResult(table, facts)
