"""Row-resampling bootstrap for ICI shares.

Linear models: each resample is a vector of multinomial counts w over the rows; every node's OLS
refit needs only the weighted Gram matrix [1, Z]^T diag(w) [1, Z], so all resamples come from one
chunked pass over the data (one GEMM per chunk: counts (B x rows) @ row-wise outer products),
with no copy of the data per resample. Nonlinear models are refit per resample.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np

from ._threads import serial
from .scm import FittedSCM

CHUNK_BYTES = 128 * 2**20  # size of the per-chunk outer-product block


def multinomial_count_chunks(n: int, n_bootstrap: int, chunk: int, rng: np.random.Generator) -> Any:
    """Yield (start, stop, counts[B, stop-start]) so that each row of counts over all chunks is
    Multinomial(n, uniform over n rows): chunk totals first, then uniform draws within a chunk."""
    starts = np.arange(0, n, chunk)
    sizes = np.minimum(chunk, n - starts)
    totals = rng.multinomial(n, sizes / n, size=n_bootstrap)  # (B, C)
    for c, (s, size) in enumerate(zip(starts, sizes)):
        counts = np.empty((n_bootstrap, size), dtype=float)
        for b in range(n_bootstrap):
            counts[b] = np.bincount(rng.integers(0, size, totals[b, c]), minlength=size)
        yield int(s), int(s + size), counts


def weighted_grams(Z: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Gram matrices G_b = [1,Z]^T W_b [1,Z] / n for B multinomial resamples, shape (B, k, k).

    Per chunk of rows: R (k(k+1)/2 x rows) holds the upper-triangle products of each row of [1, Z]
    (built row-block by row-block, no gathers), then one GEMM R @ counts^T accumulates all B.
    """
    n, d = Z.shape
    k = d + 1
    iu0, iu1 = np.triu_indices(k)
    m = len(iu0)
    chunk = int(max(256, min(n, CHUNK_BYTES // (8 * m))))
    acc = np.zeros((m, n_bootstrap))
    Zt = np.empty((k, chunk))
    R = np.empty((m, chunk))
    for s, e, counts in multinomial_count_chunks(n, n_bootstrap, chunk, rng):
        r = e - s
        Zt[0, :r] = 1.0
        Zt[1:, :r] = Z[s:e].T
        off = 0
        for i in range(k):
            np.multiply(Zt[i : i + 1, :r], Zt[i:, :r], out=R[off : off + k - i, :r])
            off += k - i
        acc += R[:, :r] @ counts.T
    acc /= n
    G = np.empty((n_bootstrap, k, k))
    G[:, iu0, iu1] = acc.T
    G[:, iu1, iu0] = acc.T
    return G


def linear_bootstrap(
    scm: FittedSCM, order: list[Any], target: Any, n_bootstrap: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """ICI (target variance units) and shares (%) for B resamples, each of shape (B, len(order))."""
    rng = np.random.default_rng([seed, 0xB007])
    X = np.array(scm.data[order].to_numpy(dtype=float), dtype=float, copy=True)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    X -= mu
    X /= sd
    # small data: single-threaded BLAS is as fast and immune to thread contention
    with serial() if len(X) < 200_000 else nullcontext():
        G = weighted_grams(X, n_bootstrap, rng)
    del X
    col = {n: i + 1 for i, n in enumerate(order)}  # column 0 of G is the intercept
    B, d = n_bootstrap, len(order)
    var_n = np.empty((B, d))
    coefs: dict[Any, dict[Any, np.ndarray]] = {}
    for i, node in enumerate(order):
        j = col[node]
        pars = scm.parents[node]
        if not pars:
            var_n[:, i] = G[:, j, j] - G[:, 0, j] ** 2
            continue
        idx = [0] + [col[p] for p in pars]
        A = G[:, idx][:, :, idx]
        rhs = G[:, idx, j]
        beta = np.linalg.solve(A, rhs[..., None])[..., 0]
        var_n[:, i] = G[:, j, j] - np.einsum("bi,bi->b", beta, rhs)
        coefs[node] = {p: beta[:, q + 1] for q, p in enumerate(pars)}
    a = {n: np.zeros(B) for n in order}
    a[target] = np.ones(B)
    for child in reversed(order):
        for parent, b in coefs.get(child, {}).items():
            a[parent] += b * a[child]
    ici = np.column_stack([a[n] ** 2 * var_n[:, i] for i, n in enumerate(order)])
    ici *= sd[order.index(target)] ** 2
    shares = 100.0 * ici / ici.sum(axis=1, keepdims=True)
    return ici, shares


def refit_bootstrap(
    scm: FittedSCM,
    order: list[Any],
    n_bootstrap: int,
    seed: int,
    estimate: Callable[[FittedSCM, int], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Generic bootstrap: resample rows, refit every mechanism with its chosen kind, re-estimate ICI."""
    from .scm import fit_scm

    rng = np.random.default_rng([seed, 0xB007])
    n = len(scm.data)
    kinds = {n_: k for n_, k in scm.kinds.items() if k != "root"}
    out = np.empty((n_bootstrap, len(order)))
    for b in range(n_bootstrap):
        rows = rng.integers(0, n, n)
        sample = scm.data.iloc[rows].reset_index(drop=True)
        refit = fit_scm(
            sample, scm.graph.subgraph(order), mechanisms=kinds_for(kinds, order), seed=scm.seed, validate=False
        )
        out[b] = estimate(refit, b)
    shares = 100.0 * out / out.sum(axis=1, keepdims=True)
    return out, shares


def kinds_for(kinds: dict[Any, str], order: list[Any]) -> dict[Any, str]:
    """Fixed per-node kinds (no reselection inside the bootstrap) restricted to `order`."""
    return {n: kinds[n] for n in order if n in kinds}
