"""Sensitivity of a linear edge to hidden confounding: Cinelli and Hazlett's (2020) robustness value.

For the edge s -> c, from the t-statistic of s in c's least-squares regression on its parents (df = rows - parents
- 1): RV_q = (sqrt(f^4 + 4 f^2) - f^2) / 2 with f = q |t| / sqrt(df) is the partial R^2 a hidden confounder must
have with both s (given c's other parents) and c (given all of c's parents) to cut the estimate by 100 q %. q = 1:
to zero; q = 0.5: to half (the sentence); with alpha < 1, RV_{q,alpha} brings the (1 - alpha) interval to include
the reduced value (sensemakr's two cases). The t-statistic assumes independent rows: with autocorrelated panels
it is too large, and the robustness value too optimistic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .result import EngineResult, Facts
from .scm import FittedSCM

SENSITIVITY_COLUMNS = [
    "node",
    "child",
    "estimate",
    "se",
    "t",
    "dof",
    "partial_r2",
    "robustness_value",
    "robustness_value_q",
    "robustness_value_interval",
    "robustness_value_width",
    "q",
    "sentence",
]


def robustness_value(t: float, dof: float, *, q: float = 1.0, alpha: float = 1.0) -> float:
    """RV_{q,alpha} of an estimate with t-statistic `t` on `dof` residual degrees of freedom (alpha = 1: RV_q)."""
    if dof <= 1 or not math.isfinite(t):
        return float("nan")
    fq = q * abs(t) / math.sqrt(dof)
    f_crit = abs(float(stats.t.ppf(alpha / 2.0, dof - 1))) / math.sqrt(dof - 1) if alpha < 1 else 0.0
    fqa = fq - f_crit
    if fqa <= 0:
        return 0.0
    if f_crit > 0 and fq > 1.0 / f_crit:
        return (fq**2 - f_crit**2) / (1.0 + fq**2)
    return 0.5 * (math.sqrt(fqa**4 + 4.0 * fqa**2) - fqa**2)


def edge_t_statistics(data: pd.DataFrame, parents: list[Any], child: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """(coefficients, standard errors, dof) of `child`'s least-squares regression on `parents` with an intercept."""
    X = data[parents].to_numpy(dtype=float)
    y = data[child].to_numpy(dtype=float)
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    gram = Xc.T @ Xc
    beta = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    dof = len(y) - len(parents) - 1
    sigma2 = float(np.sum((yc - Xc @ beta) ** 2)) / max(dof, 1)
    se = np.sqrt(sigma2 * np.diag(np.linalg.pinv(gram)))
    return beta, se, dof


def _width_q(t: float, dof: float, alpha: float) -> float:
    """q of a shift as large as the (1 - alpha) t-interval's width: 2 t_crit se / |estimate| = 2 t_crit / |t|."""
    if not math.isfinite(t) or t == 0 or dof <= 1:
        return float("nan")
    return 2.0 * abs(float(stats.t.ppf(alpha / 2.0, dof))) / abs(t)


def _sentence(node: Any, child: Any, rv_q: float, rv_1: float, q: float) -> str:
    what = "halve" if q == 0.5 else f"cut by {100 * q:.0f} %"
    return (
        f"a hidden confounder explaining {100 * rv_q:.0f} % of the residual variance of both {node} and {child} "
        f"would {what} {node}'s effect on {child} ({100 * rv_1:.0f} % would remove it)"
    )


def confounding_sensitivity(
    scm: FittedSCM, nodes: Iterable[Any] | None = None, *, q: float = 0.5, alpha: float = 0.05
) -> EngineResult[Facts]:
    """One row per edge out of `nodes` (default: every edge): the least-squares estimate, its t-statistic, the
    partial R^2 of the parent with the child, RV_1 (to zero), RV_q (cut by 100 q %: the sentence's threshold),
    RV_{1,alpha} (the interval reaches zero), RV_width (the estimate moves by its interval's width) and one sentence.
    Always from the observational least-squares fit, also on a calibrated SCM. A child with a nonlinear mechanism
    gets NaN and says "not available"."""
    start = time.perf_counter()
    chosen = list(scm.order) if nodes is None else list(nodes)
    unknown = [n for n in chosen if n not in scm.graph]
    if unknown:
        raise ValueError(f"node(s) {unknown!r} are not in the fitted SCM's graph")
    rows: list[dict[str, Any]] = []
    for child in scm.order:
        parents = scm.parents[child]
        tested = [p for p in parents if p in chosen]
        if not tested:
            continue
        if scm.kinds[child] != "linear":
            for p in tested:
                rows.append(
                    {
                        "node": p,
                        "child": child,
                        "q": q,
                        "sentence": f"not available: {child}'s mechanism is {scm.kinds[child]}, and the robustness "
                        "value needs a linear one",
                    }
                )
            continue
        beta, se, dof = edge_t_statistics(scm.data, parents, child)
        for p in tested:
            i = parents.index(p)
            t = float(beta[i] / se[i]) if se[i] > 0 else float("inf")
            rv1 = robustness_value(t, dof)
            rvq = robustness_value(t, dof, q=q)
            rows.append(
                {
                    "node": p,
                    "child": child,
                    "estimate": float(beta[i]),
                    "se": float(se[i]),
                    "t": t,
                    "dof": dof,
                    "partial_r2": t * t / (t * t + dof),
                    "robustness_value": rv1,
                    "robustness_value_q": rvq,
                    "robustness_value_interval": robustness_value(t, dof, alpha=alpha),
                    "robustness_value_width": robustness_value(t, dof, q=_width_q(t, dof, alpha)),
                    "q": q,
                    "sentence": _sentence(p, child, rvq, rv1, q),
                }
            )
    table = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    facts = Facts(
        method="robustness_value",
        target="",
        n_rows=len(scm.data),
        seed=scm.seed,
        n_periods=scm.n_periods,
        level=1.0 - alpha,
        seconds=time.perf_counter() - start,
    )
    return EngineResult(table, facts)
