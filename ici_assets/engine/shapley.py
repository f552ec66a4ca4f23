"""ICI of nonlinear SCMs: Shapley values of v(S) = Var(E[Y | N_S]) from forward passes of the SCM.

Estimator (Jansen-type pick-freeze): with base noises N and an independent copy N', the hybrid
H(S) takes N on S and N' elsewhere; u(S) := Var(Y) - v(S) = E[Var(Y | N_S)] is estimated by
E[(Y(H(all)) - Y(H(S)))^2] / 2 and, from the same passes, by E[(Y(H(none)) - Y(H(complement S)))^2] / 2;
we average the two. All subsets share the same N, N' (common random numbers), so Shapley
differences u(S) - u(S + j) are low-variance. Exact enumeration of all 2^d subsets while d
(target and ancestors) <= max_exact, otherwise permutation sampling. Both report a Monte Carlo
standard error per node from MC_BATCHES batches of the simulated rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .forward import Forward, antithetic_permutations, batch_means, shapley_values
from .scm import FittedSCM
from .validation import relevant_nodes

MC_BATCHES = 10


def sample_noises(scm: FittedSCM, order: list[Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """n independent joint draws of the noises (roots: empirical values; others: residuals), (n, d)."""
    out = np.empty((n, len(order)))
    for i, node in enumerate(order):
        src = scm.noise[node]
        out[:, i] = src[rng.integers(0, len(src), n)]
    return out


def _batch_means(x: np.ndarray) -> np.ndarray:
    """Mean of x over each of MC_BATCHES contiguous batches of rows."""
    return batch_means(x, MC_BATCHES)


def _se(per_batch: np.ndarray) -> np.ndarray:
    """Standard error of the mean over batches (last axis)."""
    return per_batch.std(axis=-1, ddof=1) / np.sqrt(per_batch.shape[-1])


def _two_noise_draws(
    scm: FittedSCM, target: Any, n_samples: int, seed: int
) -> tuple[list[Any], np.random.Generator, np.ndarray, np.ndarray, Forward]:
    """The target's ancestors in topological order (target last), the seeded generator, two independent noise
    draws of n_samples rows and the forward evaluator: what both Shapley estimators start from."""
    order = relevant_nodes(scm.graph, target)
    rng = np.random.default_rng([seed, 0x1C1])
    N = sample_noises(scm, order, n_samples, rng)
    N2 = sample_noises(scm, order, n_samples, rng)
    return order, rng, N, N2, Forward(scm, order)


def exact_shapley_ici(
    scm: FittedSCM, target: Any, *, n_samples: int = 100_000, seed: int = 0
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """ICI per node by exact enumeration of all subsets (d <= ~12). Returns (order, ici, info)."""
    order, rng, N, N2, fw = _two_noise_draws(scm, target, n_samples, seed)
    d = len(order)
    t = d - 1  # target is last in topological order
    y_all = fw.full(N)[t]
    y_none = fw.full(N2)[t]
    a = np.zeros((1 << d, MC_BATCHES))  # a[S] estimates u(S) from Y(H(all)) vs Y(H(S))
    b = np.zeros((1 << d, MC_BATCHES))  # b[S] estimates u(complement S) from Y(H(none)) vs Y(H(S))
    for mask, y in fw.subset_values(N, N2, t):
        a[mask] = _batch_means(0.5 * (y_all - y) ** 2)
        b[mask] = _batch_means(0.5 * (y_none - y) ** 2)
    full = (1 << d) - 1
    u = 0.5 * (a + b[full ^ np.arange(1 << d)])
    u[full] = 0.0
    per_batch = shapley_values(-u)  # (d, batches): v = Var(Y) - u, constant dropped
    ici = per_batch.mean(axis=1)
    info = {"method": "shapley_exact", "n_samples": n_samples, "var_y_model": float(u[0].mean()), "se": _se(per_batch)}
    return order, ici, info


def permutation_shapley_ici(
    scm: FittedSCM,
    target: Any,
    *,
    n_samples: int = 20_000,
    n_permutations: int = 200,
    seed: int = 0,
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """ICI per node from sampled permutations (antithetic pairs) for large ancestor sets.

    Each permutation adds nodes one at a time; the marginal drop of u estimates the node's Shapley
    value. info['se'] holds the standard error per node over permutation pairs (given the noise draws).
    """
    order, rng, N, N2, fw = _two_noise_draws(scm, target, n_samples, seed)
    d = len(order)
    t = d - 1
    y_all = fw.full(N)[t]
    base = fw.full(N2)
    u0 = 0.5 * np.mean((y_all - base[t]) ** 2)
    contrib = []
    for perm in antithetic_permutations(d, n_permutations, rng):
        row, u_prev = np.empty(d), u0
        for k, vals in fw.walk(perm, N, N2, base):
            u_new = 0.5 * np.mean((y_all - vals[t]) ** 2)
            row[k] = u_prev - u_new
            u_prev = u_new
        contrib.append(row)
    C = np.array(contrib)
    pair = 0.5 * (C[0::2] + C[1::2])
    info = {
        "method": "shapley_permutation",
        "n_samples": n_samples,
        "n_permutations": len(C),
        "se": pair.std(axis=0, ddof=1) / np.sqrt(len(pair)),
        "var_y_model": float(u0),
    }
    return order, pair.mean(axis=0), info
