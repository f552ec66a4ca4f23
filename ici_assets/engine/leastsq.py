"""Least squares from moments: the one solver behind every linear fit (point fit, model choice, bootstrap).

Normal equations C_pp beta = c_pj are solved scale-free (C normalized by its diagonal) through an
eigendecomposition: directions with eigenvalue below RCOND x the largest are dropped (a pseudo-
inverse) and a column with no variance gets coefficient 0. A resample in which an event dummy is
never 1, or two columns coincide, therefore has a defined minimum-norm solution instead of
raising; the caller counts such rank-deficient solves. Works on one system or a stack (B, p, p).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

RCOND = 1e-10  # relative eigenvalue cut-off of the correlation matrix
ZERO_VARIANCE = 1e-12  # a column whose variance is below this fraction of the largest counts as constant


def stable_solve(A: np.ndarray, b: np.ndarray, rcond: float = RCOND) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm least-squares solution of A x = b for symmetric PSD A (..., p, p); returns (x, rank)."""
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    diag = np.diagonal(A, axis1=-2, axis2=-1)
    top = np.max(diag, axis=-1, keepdims=True) if diag.shape[-1] else np.ones(diag.shape[:-1] + (1,))
    live = diag > ZERO_VARIANCE * np.maximum(top, np.finfo(float).tiny)
    s = np.where(live, np.sqrt(np.where(live, diag, 1.0)), 1.0)
    R = A / (s[..., :, None] * s[..., None, :])
    mask = live[..., :, None] & live[..., None, :]
    R = np.where(mask, R, 0.0)
    c = np.where(live, b / s, 0.0)
    w, V = np.linalg.eigh(R)
    keep = w > rcond * np.maximum(w.max(axis=-1, keepdims=True), np.finfo(float).tiny)
    inv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
    proj = np.einsum("...ji,...j->...i", V, c) * inv
    x = np.einsum("...ij,...j->...i", V, proj) / s
    return np.where(live, x, 0.0), keep.sum(axis=-1)


def centered_moments(P: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(mean of P's columns, mean of y, Cov(P) (q, q), Cov(P, y) (q,)), all with ddof=0."""
    mp = P.mean(axis=0)
    my = float(y.mean())
    Pc = P - mp
    n = max(len(y), 1)
    return mp, my, (Pc.T @ Pc) / n, Pc.T @ (y - my) / n


def ridge_solve(cov_pp: np.ndarray, cov_py: np.ndarray, n: int, alpha: float) -> tuple[np.ndarray, int]:
    """Coefficients of a centred regression: OLS (alpha = 0, stable_solve) or sklearn-style ridge
    (X_c^T X_c + alpha I) w = X_c^T y_c, i.e. (Cov + alpha / n I) w = Cov_py. Returns (w, rank)."""
    if alpha <= 0:
        w, rank = stable_solve(cov_pp, cov_py)
        return w, int(rank)
    A = cov_pp + (alpha / max(n, 1)) * np.eye(len(cov_pp))
    try:
        return scipy.linalg.solve(A, cov_py, assume_a="pos"), len(A)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        w, rank = stable_solve(A, cov_py)
        return w, int(rank)
