"""The public entry points: fit + ICI table with bootstrap intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._threads import serial
from .bootstrap import linear_bootstrap, refit_bootstrap
from .linear import linear_ici
from .scm import FittedSCM, MechanismSpec, fit_scm
from .shapley import exact_shapley_ici, permutation_shapley_ici
from .validation import GraphLike, relevant_nodes, validate_inputs

COLUMNS = ["node", "ici", "share", "share_low", "share_high", "mechanism", "r2"]


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


def ici_from_scm(
    scm: FittedSCM,
    target: Any,
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    n_samples: int = 100_000,
    max_exact: int = 12,
    n_permutations: int = 200,
    bootstrap_n_samples: int | None = None,
) -> pd.DataFrame:
    """ICI table (node, ici, share, share_low, share_high, mechanism, r2) for target and its ancestors.

    Linear SCMs: exact closed form, bootstrap via weighted Gram matrices. Otherwise Shapley values of
    Var(E[Y|N_S]) from `n_samples` simulated rows; the bootstrap refits every mechanism per resample.
    """
    if target not in scm.graph:
        raise ValueError(f"target {target!r} is not a node of the fitted SCM's graph")
    order, ici, info = _point_ici(scm, target, n_samples, seed, max_exact, n_permutations)
    total = ici.sum()
    share = 100.0 * ici / total
    low = np.full(len(order), np.nan)
    high = np.full(len(order), np.nan)
    boot = None
    if n_bootstrap and n_bootstrap > 0:
        if info["method"] == "closed_form_linear":
            _, boot = linear_bootstrap(scm, order, target, n_bootstrap, seed)
        else:
            m = bootstrap_n_samples or max(20_000, n_samples // 5)

            def estimate(refit: FittedSCM, b: int) -> np.ndarray:
                return _point_ici(refit, target, m, seed + 1 + b, max_exact, n_permutations)[1]

            _, boot = refit_bootstrap(scm, order, n_bootstrap, seed, estimate)
        low, high = np.percentile(boot, [2.5, 97.5], axis=0)
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
    table.attrs.update(
        {
            "target": target,
            "method": info["method"],
            "n_rows": len(scm.data),
            "n_bootstrap": int(n_bootstrap or 0),
            "seed": seed,
            "var_target_data": float(np.var(scm.data[target].to_numpy(dtype=float))),
            "ici_total": float(total),
        }
    )
    for key in ("n_samples", "n_permutations", "var_y_model"):
        if key in info:
            table.attrs[key] = info[key]
    if "se" in info:
        table.attrs["share_se"] = (100.0 * np.asarray(info["se"]) / total).tolist()
    return table


def compute_ici(
    data: pd.DataFrame,
    graph: GraphLike,
    target: Any,
    *,
    mechanisms: MechanismSpec = "auto",
    n_bootstrap: int = 0,
    seed: int = 0,
    n_samples: int = 100_000,
) -> pd.DataFrame:
    """Validate, fit the SCM on the target and its ancestors, and return the ICI table."""
    g = validate_inputs(data, graph, target)
    nodes = relevant_nodes(g, target)
    scm = fit_scm(data, g, mechanisms=mechanisms, seed=seed, nodes=nodes, validate=False)
    return ici_from_scm(scm, target, n_bootstrap=n_bootstrap, seed=seed, n_samples=n_samples)
