"""Exact ICI for linear additive noise models: ICI_j = a_j^2 Var(N_j), no Monte Carlo."""

from __future__ import annotations

from typing import Any

import numpy as np

from .scm import FittedSCM
from .validation import relevant_nodes


def total_effects(order: list[Any], coefs: dict[Any, dict[Any, float]], target: Any) -> dict[Any, float]:
    """Total causal effect a_j of each node on target (sum over directed paths of coefficient products).

    `order` is a topological order of the target and its ancestors; `coefs[child][parent]` the edge
    coefficient. a_target = 1, a_j = sum over children c of coef[c][j] * a_c (reverse topological pass).
    """
    a = {n: 0.0 for n in order}
    a[target] = 1.0
    for child in reversed(order):
        if a[child] == 0.0:
            continue
        for parent, b in coefs.get(child, {}).items():
            if parent in a:
                a[parent] += b * a[child]
    return a


def linear_ici(scm: FittedSCM, target: Any) -> tuple[list[Any], np.ndarray, dict[Any, float]]:
    """Closed-form ICI (target variance units) for target and its ancestors; also the total effects."""
    order = relevant_nodes(scm.graph, target)
    if not scm.is_linear(order):
        bad = [n for n in order if scm.kinds[n] not in ("root", "linear")]
        raise ValueError(f"closed form needs linear mechanisms; node(s) {bad!r} are nonlinear")
    coefs = {n: scm.linear_coefficients(n) for n in order if scm.kinds[n] == "linear"}
    a = total_effects(order, coefs, target)
    ici = np.array([a[n] ** 2 * scm.noise_variance(n) for n in order])
    return order, ici, a
