"""The public entry points: fit + ICI with bootstrap intervals, as an IciResult or today's table."""

from __future__ import annotations

from typing import Any, Unpack

import numpy as np
import pandas as pd

from . import intervals
from ._threads import serial
from .bootstrap import linear_bootstrap, refit_bootstrap
from .effects import linear_ici
from .resampling import Plan, Resampling, block_length_from_noise
from .result import COLUMNS, IciResult
from .scm import FittedSCM, MechanismSpec, fit_scm
from .shapley import exact_shapley_ici, permutation_shapley_ici
from .sparse import flag_sparse_nodes
from .validation import GraphLike, relevant_nodes, validate_inputs

RESAMPLING = ("auto", "block", "row")


def _point_ici(
    scm: FittedSCM, target: Any, n_samples: int, seed: int, max_exact: int, n_permutations: int
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """ICI per node: closed form if all mechanisms are linear, else Shapley over forward passes."""
    order = relevant_nodes(scm.graph, target)
    if scm.is_linear(order):
        order, ici, a = linear_ici(scm, target)
        return order, ici, {"method": "closed_form_linear", "total_effects": a}
    with serial():
        if len(order) <= max_exact:
            return exact_shapley_ici(scm, target, n_samples=n_samples, seed=seed)
        return permutation_shapley_ici(
            scm, target, n_samples=min(n_samples, 20_000), n_permutations=n_permutations, seed=seed
        )


def resampling_plan(
    scm: FittedSCM, order: list[Any], resampling: str = "auto", block_length: int | None = None
) -> Plan:
    """Rows, or circular blocks of periods ('auto': blocks when the SCM knows each row's period)."""
    if resampling not in RESAMPLING:
        raise ValueError(f"unknown resampling {resampling!r}: use one of {', '.join(map(repr, RESAMPLING))}")
    n = len(scm.data)
    if resampling == "row" or (resampling == "auto" and scm.periods is None):
        return Plan(n)
    if scm.periods is None or scm.n_periods is None:
        raise ValueError("resampling='block' needs each row's period: fit the SCM with time_column=<column>")
    T = scm.n_periods
    if block_length is None:
        noise = np.column_stack([scm.noise[nd] for nd in order])
        block_length = block_length_from_noise(noise, scm.periods, T)
    elif not 1 <= int(block_length) <= T:
        raise ValueError(f"block_length={block_length} must be between 1 and the number of periods ({T})")
    return Plan(n, scm.periods, T, int(block_length))


def estimate_ici(
    scm: FittedSCM,
    target: Any,
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    resampling: str = "auto",
    block_length: int | None = None,
    interval: str = intervals.DEFAULT,
    n_samples: int = 100_000,
    max_exact: int = 12,
    n_permutations: int = 200,
    bootstrap_n_samples: int | None = None,
) -> IciResult:
    """ICI of every node on `target` with bootstrap intervals, and the facts of how it was obtained.

    Linear SCMs: exact closed form; bootstrap by weighted moment matrices. Otherwise Shapley values of
    Var(E[Y|N_S]) from `n_samples` simulated rows; the bootstrap refits every mechanism per resample.
    resampling: 'auto' (blocks of consecutive periods when the SCM was fitted with a time column, else
    rows), 'block' or 'row'; block_length in periods (default: chosen from the data).
    """
    if target not in scm.graph:
        raise ValueError(f"target {target!r} is not a node of the fitted SCM's graph")
    if interval not in intervals.METHODS:
        raise ValueError(f"unknown interval {interval!r}: use one of {', '.join(map(repr, intervals.METHODS))}")
    order, ici, info = _point_ici(scm, target, n_samples, seed, max_exact, n_permutations)
    total = float(ici.sum())
    share = 100.0 * ici / total
    low, high = np.full(len(order), np.nan), np.full(len(order), np.nan)
    facts: dict[str, Any] = {}
    if n_bootstrap and n_bootstrap > 0:
        plan = resampling_plan(scm, order, resampling, block_length)
        rng = np.random.default_rng([seed, 0xB007])
        if info["method"] == "closed_form_linear":
            draws = linear_bootstrap(scm, order, target, plan, n_bootstrap, rng, jackknife=interval == "bca")
        else:
            m = bootstrap_n_samples or max(20_000, n_samples // 5)

            def estimate(refit: FittedSCM, b: int) -> np.ndarray:
                return _point_ici(refit, target, m, seed + 1 + b, max_exact, n_permutations)[1]

            draws = refit_bootstrap(scm, order, plan, n_bootstrap, rng, estimate)
        low, high = intervals.interval(
            draws.shares, share, interval, draws.jackknife, se_ratio=draws.se_ratio, df=draws.df
        )
        facts = {
            "n_bootstrap": int(n_bootstrap),
            "resampling": plan.kind,
            "block_length": plan.block_length if plan.kind == "block" else None,
            "interval": interval,
            "n_degenerate": draws.n_degenerate,
        }
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
    return IciResult(
        table=table,
        target=target,
        method=info["method"],
        n_rows=len(scm.data),
        seed=seed,
        var_target_data=float(np.var(scm.data[target].to_numpy(dtype=float))),
        ici_total=total,
        n_periods=scm.n_periods,
        sparse_nodes=tuple(flag_sparse_nodes(scm, order)),
        var_y_model=info.get("var_y_model"),
        n_samples=info.get("n_samples"),
        n_permutations=info.get("n_permutations"),
        share_mc_se=100.0 * np.asarray(info["se"]) / total if "se" in info else None,
        **facts,
    )


class IciOptions(Resampling, total=False):
    """Keyword options of estimate_ici, accepted as well by ici_from_scm and compute_ici: the interval keywords
    every engine function shares (:class:`Resampling`) and the ICI's own."""

    n_samples: int
    max_exact: int
    n_permutations: int
    bootstrap_n_samples: int | None


def ici_from_scm(scm: FittedSCM, target: Any, **options: Unpack[IciOptions]) -> pd.DataFrame:
    """ICI table (node, ici, share, share_low, share_high, mechanism, r2) for target and its ancestors.

    Options as in `estimate_ici` (n_bootstrap, seed, resampling, block_length, interval, ...); use that
    function for the facts (method, resampling, block length, degenerate resamples, sparse nodes).
    """
    return estimate_ici(scm, target, **options).table


def compute_ici(
    data: pd.DataFrame,
    graph: GraphLike,
    target: Any,
    *,
    time_column: Any = None,
    mechanisms: MechanismSpec = "auto",
    **options: Unpack[IciOptions],
) -> pd.DataFrame:
    """Validate, fit the SCM on the target and its ancestors, and return the ICI table.

    With `time_column` (the column holding each row's period: date, week, month...), columns of `data`
    that are not graph nodes are ignored and the bootstrap resamples blocks of consecutive periods
    by default (every unit of a period together). Options as in `estimate_ici` (n_bootstrap, seed, ...).
    """
    g = validate_inputs(data, graph, target)
    nodes = relevant_nodes(g, target)
    seed = options.get("seed", 0)
    scm = fit_scm(data, g, mechanisms=mechanisms, seed=seed, nodes=nodes, validate=False, time_column=time_column)
    return ici_from_scm(scm, target, **options)
