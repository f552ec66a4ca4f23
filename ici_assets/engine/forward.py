"""Forward passes of a fitted SCM over noise coalitions, and Shapley values over all subsets.

The one implementation of subset enumeration (used by the Shapley ICI estimator, the per-row
contributions and the change attribution): nodes are switched from their "off" noise to their "on"
noise one at a time, and each step recomputes only the switched node and its descendants. With
`on_scm`, a switched node also takes its mechanism from that second SCM (same graph): the hybrid
models of a change attribution. `intervene` gives the values under do(node = level).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from math import factorial
from typing import TYPE_CHECKING, Any, Protocol

import networkx as nx
import numpy as np

if TYPE_CHECKING:
    from .scm import FittedSCM


def batch_means(x: np.ndarray, n_batches: int) -> np.ndarray:
    """Mean of a 1-d x over each of n_batches contiguous batches (``np.array_split``'s); equal batches in one
    reduction, which gives the same numbers as batch by batch."""
    if len(x) % n_batches == 0:
        return x.reshape(n_batches, -1).mean(axis=1)
    return np.array([b.mean() for b in np.array_split(x, n_batches)])


class Values(Protocol):
    """Node values by position: a list, or the values of one subset computed on demand."""

    def __getitem__(self, i: int) -> np.ndarray: ...


class _AtMask:
    """The values of every node for one subset `mask`, each fetched from `value(node, mask)` when asked."""

    def __init__(self, value: Callable[[int, int], np.ndarray], mask: int):
        self.value, self.mask = value, mask

    def __getitem__(self, i: int) -> np.ndarray:
        return self.value(i, self.mask)


class Forward:
    """Forward pass of the SCM on `order` (a topological order closed under parents); nodes switched "on"
    use `on_scm`'s mechanisms (default: the same SCM)."""

    def __init__(self, scm: FittedSCM, order: list[Any], on_scm: FittedSCM | None = None):
        self.scm = scm
        self.on_scm = scm if on_scm is None else on_scm
        self.order = order
        pos = {n: i for i, n in enumerate(order)}
        self.par_idx = [[pos[p] for p in scm.parents[n]] for n in order]
        self.desc = [sorted(pos[m] for m in nx.descendants(scm.graph, n) if m in pos) for n in order]

    def node(self, i: int, vals: Values, noise_col: np.ndarray, on: bool = False) -> np.ndarray:
        """Value of node i given current parent values (vals[p]) and its noise (mechanism of `on_scm` if on)."""
        pars = self.par_idx[i]
        if not pars:
            return noise_col
        P = np.column_stack([vals[p] for p in pars])
        return (self.on_scm if on else self.scm).predict(self.order[i], P) + noise_col

    def full(self, noise: np.ndarray) -> list[np.ndarray]:
        """All node values for a noise matrix (n, d)."""
        vals: list[np.ndarray] = []
        for i in range(len(self.order)):
            vals.append(self.node(i, vals, noise[:, i]))
        return vals

    def swap(
        self, vals: list[np.ndarray], k: int, on: np.ndarray, off: np.ndarray, in_set: Callable[[int], bool]
    ) -> list:
        """New values after switching node k on; recompute k and its descendants, each descendant m with its
        `on` noise and mechanism if in_set(m), else its `off` ones."""
        new = list(vals)
        new[k] = self.node(k, new, on[:, k], True)
        for m in self.desc[k]:
            is_on = in_set(m)
            new[m] = self.node(m, new, (on if is_on else off)[:, m], is_on)
        return new

    def subset_values(
        self, on: np.ndarray, off: np.ndarray, target: int, max_cache_bytes: int = 256 * 2**20
    ) -> Iterator[tuple[int, np.ndarray]]:
        """(mask, values of node `target`) for every subset S (bit i: node i on), like `subsets`, but each other
        node is computed once per state of itself and its ancestors and remembered (while its states fit in
        `max_cache_bytes`): a node with few ancestors is predicted a few times instead of once per subset."""
        d, n = len(self.order), len(on)
        relevant = [1 << i for i in range(d)]
        for k in range(d):
            for m in self.desc[k]:
                relevant[m] |= 1 << k
        keep = [i != target and 8 * n * (1 << bin(r).count("1")) <= max_cache_bytes for i, r in enumerate(relevant)]
        cache: list[dict[int, np.ndarray]] = [{} for _ in range(d)]

        def value(i: int, mask: int) -> np.ndarray:
            key = mask & relevant[i]
            hit = cache[i].get(key)
            if hit is None:
                is_on = bool(mask >> i & 1)
                hit = self.node(i, _AtMask(value, mask), (on if is_on else off)[:, i], is_on)
                if keep[i]:
                    cache[i][key] = hit
            return hit

        for mask in range(1 << d):
            yield mask, value(target, mask)

    def intervene(self, vals: list[np.ndarray], levels: Mapping[int, float | np.ndarray], noise: np.ndarray) -> list:
        """Values under do(node k = levels[k]) for every k (a level, or one value per row): the set nodes fixed,
        their descendants recomputed (topological order) with their own noise columns in `noise` (n, d)."""
        new = list(vals)
        for k, level in levels.items():
            new[k] = np.broadcast_to(np.asarray(level, dtype=float), (len(noise),)).copy()
        for m in sorted({m for k in levels for m in self.desc[k]} - set(levels)):
            new[m] = self.node(m, new, noise[:, m])
        return new

    def subsets(self, on: np.ndarray, off: np.ndarray) -> Iterator[tuple[int, list[np.ndarray]]]:
        """Yield (mask, node values) for every subset S (bit i = node i): noises `on` on S, `off` elsewhere.

        Depth-first, adding nodes in topological order: the nodes after the added one are not in S yet,
        so its descendants keep their `off` noise.
        """
        d = len(self.order)

        def visit(mask: int, vals: list[np.ndarray], start: int) -> Iterator[tuple[int, list[np.ndarray]]]:
            yield mask, vals
            for k in range(start, d):
                yield from visit(mask | (1 << k), self.swap(vals, k, on, off, lambda m: False), k + 1)

        yield from visit(0, self.full(off), 0)

    def walk(self, perm: np.ndarray, on: np.ndarray, off: np.ndarray, start: list) -> Iterator[tuple[int, list]]:
        """Add nodes in the order `perm` (from all-`off` values `start`); yield (k, values) after each."""
        in_set = np.zeros(len(self.order), dtype=bool)
        vals = start
        for k in perm:
            in_set[k] = True
            vals = self.swap(vals, k, on, off, lambda m: bool(in_set[m]))
            yield int(k), vals


def antithetic_permutations(d: int, n: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """n (rounded up to even, at least 2) node orders in antithetic pairs: each one then its reverse."""
    perm = np.arange(d)
    for r in range(max(2, n + n % 2)):
        perm = rng.permutation(d) if r % 2 == 0 else perm[::-1]
        yield perm


def shapley_weights(d: int) -> np.ndarray:
    """Shapley weight |S|! (d-|S|-1)! / d! indexed by |S| = 0..d-1."""
    return np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])


def shapley_values(v: np.ndarray) -> np.ndarray:
    """Exact Shapley values of a game given on all 2^d subsets (v[mask], any trailing shape): (d, ...)."""
    d = int(np.log2(len(v)))
    masks = np.arange(1 << d)
    sizes = np.array([bin(m).count("1") for m in masks])
    w = shapley_weights(d)
    out = np.empty((d,) + v.shape[1:])
    for j in range(d):
        without = masks[(masks & (1 << j)) == 0]
        wj = w[sizes[without]].reshape((-1,) + (1,) * (v.ndim - 1))
        out[j] = np.sum(wj * (v[without | (1 << j)] - v[without]), axis=0)
    return out
