"""ICI with bootstrap intervals. One implementation, ``estimate_ici`` (a fitted SCM in, an :class:`IciResult` out:
the table and its facts); two thin conveniences return only the table, as notebooks use it: ``ici_from_scm``
(``estimate_ici(...).table``) and ``compute_ici`` (validate, fit the SCM, then ``estimate_ici(...).table``)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from math import ceil
from typing import Any

import numpy as np
import pandas as pd

from . import intervals
from ._threads import serial
from .bootstrap import linear_bootstrap, refit_bootstrap
from .effects import linear_ici
from .montecarlo import DEFAULT_MAX_SAMPLES, DEFAULT_SHARE_TOLERANCE, GROWTH
from .resampling import Bootstrap, resampling_plan
from .result import COLUMNS, IciFacts, IciResult
from .scm import FittedSCM, MechanismSpec, fit_scm
from .shapley import exact_shapley_ici, permutation_shapley_ici
from .sparse import flag_sparse_nodes
from .validation import GraphLike, relevant_nodes, validate_inputs


def _point_ici(
    scm: FittedSCM, target: Any, n_samples: int, seed: int, max_exact: int, n_permutations: int
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """ICI per node: closed form if all mechanisms are linear, else Shapley over forward passes."""
    order = relevant_nodes(scm.graph, target)
    if scm.is_linear_in_levels(order):
        order, ici, a = linear_ici(scm, target)
        return order, ici, {"method": "closed_form_linear", "total_effects": a}
    with serial():
        if len(order) <= max_exact:
            return exact_shapley_ici(scm, target, n_samples=n_samples, seed=seed)
        return permutation_shapley_ici(
            scm, target, n_samples=min(n_samples, 20_000), n_permutations=n_permutations, seed=seed
        )


log = logging.getLogger(__name__)


def _precise_point_ici(
    scm: FittedSCM,
    target: Any,
    n_samples: int,
    seed: int,
    max_exact: int,
    n_permutations: int,
    max_samples: int,
    tolerance: float,
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """:func:`_point_ici`, with the exact Shapley estimator's noise draws grown (each step drawn afresh from the
    seed: deterministic) until every share's Monte Carlo error is within ``tolerance`` points or ``max_samples``
    draws are used; info gains ``mc_capped``. The permutation estimator (more than ``max_exact`` nodes) keeps its
    draws and reports its error."""
    cap = max(1, int(max_samples))
    m = min(n_samples, cap)
    while True:
        order, ici, info = _point_ici(scm, target, m, seed, max_exact, n_permutations)
        if info["method"] != "shapley_exact":
            return order, ici, info
        points = float(np.max(100.0 * np.asarray(info["se"]) / float(ici.sum()), initial=0.0))
        if points <= tolerance or m >= cap:
            break
        grown = min(cap, max(GROWTH * m, ceil(1.1 * m * (points / tolerance) ** 2)))
        log.info(
            "ICI of %s: Monte Carlo error %.3f points with %s draws, above %.3g: drawing %s",
            target,
            points,
            f"{m:,}",
            tolerance,
            f"{grown:,}",
        )
        m = grown
    info["mc_capped"] = points > tolerance
    if info["mc_capped"]:
        log.warning(
            "ICI of %s: Monte Carlo error %.3f points at the cap of %s draws (max_samples)", target, points, f"{cap:,}"
        )
    return order, ici, info


def estimate_ici(
    scm: FittedSCM,
    target: Any,
    *,
    bootstrap: Bootstrap | None = None,
    n_samples: int = 100_000,
    max_exact: int = 12,
    n_permutations: int = 200,
    bootstrap_n_samples: int | None = None,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    mc_tolerance: float = DEFAULT_SHARE_TOLERANCE,
    **resampling: Any,
) -> IciResult:
    """ICI of every node on `target` with bootstrap intervals, and the facts of how it was obtained.

    Linear SCMs: exact closed form; bootstrap by weighted moment matrices. Otherwise Shapley values of
    Var(E[Y|N_S]) from `n_samples` simulated rows (all subsets up to `max_exact` nodes, else `n_permutations`
    sampled orders), more (up to `max_samples`, logged) while a share's Monte Carlo error is above `mc_tolerance`
    points (all subsets only); the bootstrap refits every mechanism per resample and simulates
    `bootstrap_n_samples` rows (default: max(20,000, n_samples / 5)). With learned transforms
    (``fit_scm(transforms=...)``) every resample also refits their parameters (closed form on each resample when
    the model is linear). Intervals and the seed: the :class:`Bootstrap` keywords (n_bootstrap, seed, resampling,
    block_length, interval, level), or
    ``bootstrap=Bootstrap(...)``.
    """
    start = time.perf_counter()
    settings = Bootstrap.of("estimate_ici", bootstrap, resampling)
    if target not in scm.graph:
        raise ValueError(f"target {target!r} is not a node of the fitted SCM's graph")
    seed = settings.seed
    order, ici, info = _precise_point_ici(
        scm, target, n_samples, seed, max_exact, n_permutations, max_samples, mc_tolerance
    )
    total = float(ici.sum())
    share = 100.0 * ici / total
    low, high = np.full(len(order), np.nan), np.full(len(order), np.nan)
    boot_facts: dict[str, Any] = {}
    if settings.active:
        plan = resampling_plan(scm, order, settings.resampling, settings.block_length)
        rng = settings.rng(0xB007)
        # moment bootstrap: least squares on every resample; a calibrated model refits (and recalibrates) instead
        # (a categorical root's dummies are not in the moment matrices: such a model refits, closed form each time)
        closed = info["method"] == "closed_form_linear" and not set(order) & set(scm.categories)
        if closed and scm.transform_state is None and scm.calibration is None:
            draws = linear_bootstrap(
                scm, order, target, plan, settings.n_bootstrap, rng, jackknife=settings.interval == "bca"
            )
        else:
            m = bootstrap_n_samples or max(20_000, n_samples // 5)

            def estimate(refit: FittedSCM, b: int) -> np.ndarray:
                return _point_ici(refit, target, m, seed + 1 + b, max_exact, n_permutations)[1]

            draws = refit_bootstrap(scm, order, plan, settings.n_bootstrap, rng, estimate)
        low, high = intervals.interval(
            draws.shares,
            share,
            settings.interval,
            draws.jackknife,
            level=settings.level,
            se_ratio=draws.se_ratio,
            df=draws.df,
        )
        boot_facts = settings.facts(plan, draws.n_degenerate)
    table = pd.DataFrame(
        {
            "node": order,
            "ici": ici,
            "share": share,
            "share_low": low,
            "share_high": high,
            "mechanism": [scm.kinds[n] for n in order],
            "r2": [scm.r2.get(n, np.nan) for n in order],
        },
        columns=COLUMNS,
    )
    share_mc_se = 100.0 * np.asarray(info["se"]) / total if "se" in info else None
    facts = IciFacts(
        method=info["method"],
        target=str(target),
        n_rows=len(scm.data),
        seed=seed,
        n_periods=scm.n_periods,
        n_samples=int(info.get("n_samples") or 0),
        max_mc_se=None if share_mc_se is None else float(np.max(share_mc_se)),
        var_target_data=float(np.var(scm.data[target].to_numpy(dtype=float))),
        ici_total=total,
        var_y_model=info.get("var_y_model"),
        n_permutations=info.get("n_permutations"),
        sparse_nodes=tuple(flag_sparse_nodes(scm, order)),
        share_mc_se=share_mc_se,
        mc_capped=bool(info.get("mc_capped", False)),
        seconds=time.perf_counter() - start,
        **boot_facts,
    )
    return IciResult(table, facts)


def ici_from_scm(scm: FittedSCM, target: Any, **options: Any) -> pd.DataFrame:
    """``estimate_ici(scm, target, **options).table``: the ICI table (node, ici, share, share_low, share_high,
    mechanism, r2) of target and its ancestors, without the facts."""
    return estimate_ici(scm, target, **options).table


def compute_ici(
    data: pd.DataFrame,
    graph: GraphLike,
    target: Any,
    *,
    time_column: Any = None,
    mechanisms: MechanismSpec = "auto",
    bootstrap: Bootstrap | None = None,
    transforms: Mapping[Any, Any] | None = None,
    unit_column: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """Validate, fit the SCM on the target and its ancestors (seeded by the bootstrap's `seed`), and return
    ``estimate_ici(...).table``: the plain ICI table a notebook wants. Options as in `estimate_ici`.

    With `time_column` (the column holding each row's period: date, week, month...), columns of `data`
    that are not graph nodes are ignored and the bootstrap resamples blocks of consecutive periods
    by default (every unit of a period together). `transforms` and `unit_column`: learned carryover and saturation
    of root spend nodes, as in :func:`fit_scm`.
    """
    settings, ici_options = Bootstrap.split("compute_ici", bootstrap, options)
    unknown = sorted(set(ici_options) - set(inspect.signature(estimate_ici).parameters))
    if unknown:
        raise TypeError(f"compute_ici() got unexpected keyword argument(s): {', '.join(unknown)}")
    g = validate_inputs(data, graph, target)
    nodes = relevant_nodes(g, target)
    scm = fit_scm(
        data,
        g,
        mechanisms=mechanisms,
        seed=settings.seed,
        nodes=nodes,
        validate=False,
        time_column=time_column,
        transforms=transforms,
        unit_column=unit_column,
    )
    return estimate_ici(scm, target, bootstrap=settings, **ici_options).table
