"""ICI of nonlinear SCMs: Shapley values of v(S) = Var(E[Y | N_S]) from forward passes of the SCM.

Estimator (Jansen-type pick-freeze): with base noises N and an independent copy N', the hybrid
H(S) takes N on S and N' elsewhere; u(S) := Var(Y) - v(S) = E[Var(Y | N_S)] is estimated by
E[(Y(H(all)) - Y(H(S)))^2] / 2 and, from the same passes, by E[(Y(H(none)) - Y(H(complement S)))^2] / 2;
we average the two. All subsets share the same N, N' (common random numbers), so Shapley
differences u(S) - u(S + j) are low-variance. Subsets are visited depth-first, adding nodes in
topological order, so each step recomputes only the added node and its descendants.
Exact enumeration of all 2^d subsets while d (target and ancestors) <= max_exact, otherwise
permutation sampling with a reported standard error.
"""

from __future__ import annotations

from math import factorial
from typing import Any

import networkx as nx
import numpy as np

from .scm import FittedSCM
from .validation import relevant_nodes


def sample_noises(scm: FittedSCM, order: list[Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """n independent joint draws of the noises (roots: empirical values; others: residuals), (n, d)."""
    out = np.empty((n, len(order)))
    for i, node in enumerate(order):
        src = scm.noise[node]
        out[:, i] = src[rng.integers(0, len(src), n)]
    return out


class _Forward:
    """Forward pass of the SCM on the target's ancestors with incremental recomputation."""

    def __init__(self, scm: FittedSCM, order: list[Any]):
        self.scm = scm
        self.order = order
        pos = {n: i for i, n in enumerate(order)}
        self.par_idx = [[pos[p] for p in scm.parents[n]] for n in order]
        self.desc = [sorted(pos[m] for m in nx.descendants(scm.graph, n) if m in pos) for n in order]

    def node(self, i: int, vals: list[np.ndarray], noise_col: np.ndarray) -> np.ndarray:
        """Value of node i given current parent values and its noise."""
        pars = self.par_idx[i]
        if not pars:
            return noise_col
        P = np.column_stack([vals[p] for p in pars])
        return self.scm.predict(self.order[i], P) + noise_col

    def full(self, noise: np.ndarray) -> list[np.ndarray]:
        """All node values for a noise matrix (n, d)."""
        vals: list[np.ndarray] = [None] * len(self.order)  # type: ignore[list-item]
        for i in range(len(self.order)):
            vals[i] = self.node(i, vals, noise[:, i])
        return vals

    def swap(self, vals: list[np.ndarray], k: int, noise_k: np.ndarray, noise_of: Any) -> list[np.ndarray]:
        """New values after setting node k's noise to noise_k; recompute k and its descendants."""
        new = list(vals)
        new[k] = self.node(k, new, noise_k)
        for m in self.desc[k]:
            new[m] = self.node(m, new, noise_of(m))
        return new


def shapley_weights(d: int) -> np.ndarray:
    """Shapley weight |S|! (d-|S|-1)! / d! indexed by |S| = 0..d-1."""
    return np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])


def exact_shapley_ici(
    scm: FittedSCM, target: Any, *, n_samples: int = 100_000, seed: int = 0
) -> tuple[list[Any], np.ndarray, dict[str, Any]]:
    """ICI per node by exact enumeration of all subsets (d <= ~12). Returns (order, ici, info)."""
    order = relevant_nodes(scm.graph, target)
    d = len(order)
    rng = np.random.default_rng([seed, 0x1C1])
    N = sample_noises(scm, order, n_samples, rng)
    N2 = sample_noises(scm, order, n_samples, rng)
    fw = _Forward(scm, order)
    t = d - 1  # target is last in topological order
    y_all = fw.full(N)[t]
    base = fw.full(N2)
    y_none = base[t]
    full_mask = (1 << d) - 1
    a = np.zeros(1 << d)  # a[S] estimates u(S) from Y(H(all)) vs Y(H(S))
    b = np.zeros(1 << d)  # b[S] estimates u(complement S) from Y(H(none)) vs Y(H(S))

    def visit(mask: int, vals: list[np.ndarray], start: int) -> None:
        y = vals[t]
        a[mask] = 0.5 * np.mean((y_all - y) ** 2)
        b[mask] = 0.5 * np.mean((y_none - y) ** 2)
        for k in range(start, d):
            # nodes after k are not in the new subset, so descendants keep their N' noise
            new = fw.swap(vals, k, N[:, k], lambda m: N2[:, m])
            visit(mask | (1 << k), new, k + 1)

    visit(0, base, 0)
    masks = np.arange(1 << d)
    u = 0.5 * (a + b[full_mask ^ masks])
    u[full_mask] = 0.0
    sizes = np.array([bin(m).count("1") for m in masks])
    w = shapley_weights(d)
    ici = np.empty(d)
    for j in range(d):
        bit = 1 << j
        without = masks[(masks & bit) == 0]
        ici[j] = np.sum(w[sizes[without]] * (u[without] - u[without | bit]))
    info = {"method": "shapley_exact", "n_samples": n_samples, "var_y_model": float(u[0])}
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
    value. info['se'] holds the permutation-sampling standard error per node (given the noise draws).
    """
    order = relevant_nodes(scm.graph, target)
    d = len(order)
    rng = np.random.default_rng([seed, 0x1C1])
    N = sample_noises(scm, order, n_samples, rng)
    N2 = sample_noises(scm, order, n_samples, rng)
    fw = _Forward(scm, order)
    t = d - 1
    y_all = fw.full(N)[t]
    base = fw.full(N2)
    u0 = 0.5 * np.mean((y_all - base[t]) ** 2)
    n_perm = max(2, n_permutations + n_permutations % 2)
    contrib = np.empty((n_perm, d))
    perm = None
    for r in range(n_perm):
        perm = rng.permutation(d) if r % 2 == 0 else perm[::-1]
        in_set = np.zeros(d, dtype=bool)
        vals, u_prev = base, u0
        for k in perm:
            in_set[k] = True
            vals = fw.swap(vals, k, N[:, k], lambda m, in_set=in_set: N[:, m] if in_set[m] else N2[:, m])
            u_new = 0.5 * np.mean((y_all - vals[t]) ** 2)
            contrib[r, k] = u_prev - u_new
            u_prev = u_new
    pair = 0.5 * (contrib[0::2] + contrib[1::2])
    ici = pair.mean(axis=0)
    se = pair.std(axis=0, ddof=1) / np.sqrt(len(pair))
    info = {
        "method": "shapley_permutation",
        "n_samples": n_samples,
        "n_permutations": n_perm,
        "se": se,
        "var_y_model": float(u0),
    }
    return order, ici, info
