"""Refitting every spend node's transform parameters on many resamples at once: the bootstrap's refits.

A resample of rows (repeats allowed) is the same rows with integer weights (how often each row was drawn), so B
resamples are B weight vectors over one fixed set of rows, and every quantity the fit needs is a weighted sum over
the same rows. Each resample's fit is the refinement of :mod:`profile` started at the point estimate, on the same
objective, the profile negative log-likelihood sum_c n/2 log RSS_c(theta) of all spend nodes' parameters theta
jointly, the children's linear parts solved in closed form (variable projection). It is minimised by damped
Gauss-Newton (Levenberg-Marquardt with Kaufman's Jacobian of the projected residual, whose gradient is exact; a
parameter at a bound that the gradient pushes against is held; no parameter moves by more than MAX_MOVE of its
range in one step) for all resamples in lockstep:

- every resample's parameter set is one column of a single (rows x lags) @ (lags x resamples) product of the
  prebuilt lag matrix: the carryover levels of all resamples at once (their derivatives likewise, from the
  derivatives of the weight vectors), the saturation and its derivatives applied column-wise in closed form;
- per child, one weighted Gram matrix per resample of [design, derivative columns, target] (one batched product)
  gives the RSS, the gradient and the Gauss-Newton Hessian through small solves.

This replaces coordinate rounds of L-BFGS-B per node with finite-difference gradients (``fit_nodes(start=...)``,
about 15-30 ms per weekly resample) by vectorised Gauss-Newton steps for all resamples (under 1 ms per weekly
resample), and reaches the same local optimum: on the weekly generator the 2.5 and 97.5 percentiles of the decay
over 200 resamples agree with the old refits' to 1e-4 (benchmarks/bench_transforms.py). A resample stops when a
step gains less than F_TOL in log-likelihood, or after MAX_ITER steps (a weakly identified node's parameters creep
along a flat valley: the old refits stopped after ROUNDS coordinate rounds likewise). A resample whose design is
singular (a constant transformed column) falls back to ``fit_nodes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .profile import Problem, _bounds, fit_nodes, half_range
from .transforms import PARAMETERS, saturate_with_derivatives, weights_columns

STEP = 1e-6  # central-difference step of the Jacobian, in the refinement's coordinates (decay; logs of the rest)
MAX_ITER = 30  # Gauss-Newton steps per resample at most
F_TOL = 1e-5  # log-likelihood units: a step gaining less ends a resample's refinement (L-BFGS-B ftol 1e-8 of ~1e3)
LAMBDA0, LAMBDA_MAX = 1e-3, 1e10
MAX_MOVE = 0.1  # largest step of a parameter, as a share of its range (decay 0.1; a log-half-saturation 0.75)
CELLS = 2_000_000  # rows x resamples x (parameters + 4) per batch: a daily panel's batch holds ~50 resamples


class _NodeColumns:
    """One spend node's transformed column for many parameter sets at once, from its prebuilt lag matrix."""

    def __init__(self, problem: Problem, node: Any, families: tuple[str, str]):
        self.node, (self.carry, self.sat) = node, families
        self.max_lag = problem.specs[node].max_lag
        lags = problem.lags[node]
        self.filled, self.present = np.nan_to_num(lags), (~np.isnan(lags)).astype(float)
        self.names = list(PARAMETERS[self.carry] + PARAMETERS[self.sat])
        spec = [_bounds(p, self.max_lag, half_range(lags[:, 0])) for p in self.names]
        self.lo = np.array([lo for lo, _, _ in spec])
        self.hi = np.array([hi for _, hi, _ in spec])
        self.log = np.array([log for _, _, log in spec], dtype=bool)

    def to_z(self, params: Mapping[str, float]) -> np.ndarray:
        z = np.array([np.log(params[p]) if log else params[p] for p, log in zip(self.names, self.log)], dtype=float)
        return np.clip(z, self.lo, self.hi)

    def natural(self, z: np.ndarray) -> np.ndarray:
        """(..., p) refinement coordinates -> natural parameter values."""
        return np.where(self.log, np.exp(z), z)

    def with_jacobian(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns (B, n) at parameters z (B, p) and their derivatives in z (B, n, p): the carryover level's by
        central differences of the (tiny) weight vectors, the saturation's in closed form (chain rule)."""
        B = len(z)
        p = {name: v for name, v in zip(self.names, self.natural(z).T)}
        n_carry = len(PARAMETERS[self.carry])
        dlevel = []
        if self.carry == "none":
            level = np.where(self.present[:, :1] > 0, self.filled[:, :1], 0.0).repeat(B, axis=1)
        else:
            W = weights_columns(self.carry, p, self.max_lag)
            filled, present = self.filled[:, : len(W)], self.present[:, : len(W)]
            den = present @ W
            ok = den > 0
            safe = np.where(ok, den, 1.0)
            level = np.where(ok, (filled @ W) / safe, 0.0)
            for k in range(n_carry):
                up, down = z.copy(), z.copy()
                up[:, k] += STEP
                down[:, k] -= STEP
                dW = (
                    weights_columns(self.carry, dict(zip(self.names, self.natural(up).T)), self.max_lag)
                    - weights_columns(self.carry, dict(zip(self.names, self.natural(down).T)), self.max_lag)
                ) / (2.0 * STEP)
                dlevel.append(np.where(ok, (filled @ dW - level * (present @ dW)) / safe, 0.0))
        h, dh_dx, dh_sat = saturate_with_derivatives(self.sat, p, level)
        parts = [dh_dx * d for d in dlevel] + dh_sat
        jac = np.stack(parts, axis=-1) if parts else np.zeros(level.shape + (0,))
        return h.T, jac.transpose(1, 0, 2)


class BatchRefit:
    """Refits of every spend node's parameters (families held) on weighted rows, started at given values."""

    def __init__(self, problem: Problem, families: Mapping[Any, tuple[str, str]], start: Mapping[Any, Mapping]):
        self.problem, self.families = problem, dict(families)
        self.start = {n: dict(start[n]) for n in families}
        self.nodes = [_NodeColumns(problem, n, fam) for n, fam in families.items()]
        self.slices, at = {}, 0
        for nc in self.nodes:
            self.slices[nc.node] = slice(at, at + len(nc.names))
            at += len(nc.names)
        self.p = at
        self.lo = np.concatenate([nc.lo for nc in self.nodes]) if self.nodes else np.empty(0)
        self.hi = np.concatenate([nc.hi for nc in self.nodes]) if self.nodes else np.empty(0)
        self.z0 = np.concatenate([nc.to_z(self.start[nc.node]) for nc in self.nodes]) if self.nodes else np.empty(0)
        n = problem.n
        self.designs = []  # per child: y and fixed columns (centred; the intercept kept), spend parents' slots
        for c in problem.y:
            fixed = problem.fixed[c] - problem.fixed[c].mean(axis=0)
            fixed = np.column_stack([np.ones(n), fixed[:, np.ptp(fixed, axis=0) > 0]])
            spends = [s for s in problem.spend_parents[c] if self.slices[s].stop > self.slices[s].start]
            held = [s for s in problem.spend_parents[c] if s not in spends]  # parameter-free transforms
            self.designs.append((problem.y[c] - problem.y[c].mean(), fixed, spends, held))

    def _evaluate(self, z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """At parameters z (B, p) with row weights w (B, n): objective sum_c log RSS_c (B,), its Gauss-Newton
        half-gradient g and half-Hessian H (sums over children of J^T r / RSS_c and J^T J / RSS_c, J Kaufman's
        Jacobian of the projected residual), and which resamples have a singular design.

        Everything comes from one weighted Gram matrix per child and resample, of [design, the spend columns'
        derivatives, y] (columns scaled to unit mean square): with M = A'WA, E = A'W dG, a the spend coefficients,
        RSS = y'Wy - c'M^-1 c, J'Wr = -a (dG'Wy - E'beta), J'WJ = a a' (dG'W dG - E'M^-1 E)."""
        B, n = w.shape
        cols, jac = {}, {}
        for nc in self.nodes:
            cols[nc.node], jac[nc.node] = nc.with_jacobian(z[:, self.slices[nc.node]])
        f, g, H = np.zeros(B), np.zeros((B, self.p)), np.zeros((B, self.p, self.p))
        bad = np.zeros(B, dtype=bool)
        for y, fixed, spends, held in self.designs:
            k_f = fixed.shape[1]
            parts = [np.broadcast_to(fixed[None], (B, n, k_f))]
            parts += [cols[s][:, :, None] for s in spends + held]
            k = k_f + len(spends) + len(held)
            parts += [jac[s] for s in spends]
            parts.append(np.broadcast_to(y[None, :, None], (B, n, 1)))
            V = np.concatenate(parts, axis=2)
            scale = np.sqrt(np.einsum("bnm,bnm->m", V, V) / (B * n))
            scale = np.where(scale > 0, scale, 1.0)
            V = V / scale
            G = np.swapaxes(V * w[:, :, None], 1, 2) @ V  # (B, m, m)
            M = G[:, :k, :k]
            d = np.sqrt(np.maximum(np.diagonal(M, axis1=1, axis2=2), 1e-300))
            smallest = np.linalg.eigvalsh(M / (d[:, :, None] * d[:, None, :]))[:, 0]
            bad |= smallest <= 1e-10
            M = np.where(bad[:, None, None], np.eye(k)[None], M)
            sol = np.linalg.solve(M, G[:, :k, k:])  # M^-1 [E, c]
            beta = sol[:, :, -1]
            rss = (G[:, -1, -1] - np.einsum("bk,bk->b", G[:, :k, -1], beta)) * scale[-1] ** 2
            rss = np.maximum(rss, 1e-12 * G[:, -1, -1] * scale[-1] ** 2 + 1e-300)
            f += np.log(rss)
            if not spends:
                continue
            # alpha: each derivative column's factor in D = dG a (its node's coefficient, back in y's unit, times
            # the column's scale); the projection is the same in scaled columns
            sizes = [self.slices[s].stop - self.slices[s].start for s in spends]
            idx = np.concatenate([np.arange(self.p)[self.slices[s]] for s in spends])
            a = beta[:, k_f : k_f + len(spends)] * scale[-1] / scale[k_f : k_f + len(spends)]
            alpha = np.repeat(a, sizes, axis=1) * scale[k : k + len(idx)]
            E, c_dg = G[:, :k, k:-1], G[:, k:-1, -1]
            grad = -alpha * scale[-1] * (c_dg - np.einsum("bkp,bk->bp", E, beta))
            hess = np.einsum("bp,bq->bpq", alpha, alpha) * (G[:, k:-1, k:-1] - np.swapaxes(E, 1, 2) @ sol[:, :, :-1])
            g[:, idx] += grad / rss[:, None]
            H[:, idx[:, None], idx[None, :]] += hess / rss[:, None, None]
        return f, g, H, bad

    def _refine(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levenberg-Marquardt from the start for every resample (rows of w): (z (B, p), singular (B,))."""
        B = len(w)
        n_w = w.sum(axis=1)
        z = np.repeat(self.z0[None, :], B, axis=0)
        f, g, H, bad = self._evaluate(z, w)
        lam = np.full(B, LAMBDA0)
        steps = np.zeros(B, dtype=np.int64)
        active = np.flatnonzero(~bad)
        eye = np.eye(self.p)
        for _ in range(MAX_ITER):
            if len(active) == 0:
                break
            za, ga, Ha = z[active], g[active], H[active]
            held = ((za <= self.lo + 1e-12) & (ga > 0)) | ((za >= self.hi - 1e-12) & (ga < 0))
            dH = np.diagonal(Ha, axis1=1, axis2=2)
            floor = 1e-6 * dH.max(axis=1, keepdims=True) + 1e-300  # a flat direction is damped too
            M = Ha + lam[active, None, None] * (np.maximum(dH, floor)[:, :, None] * eye)
            free = ~held
            M = np.where(free[:, :, None] & free[:, None, :], M, eye[None])
            step = np.linalg.solve(M, np.where(free, -ga, 0.0)[:, :, None])[:, :, 0]
            # a trust region: no parameter moves by more than MAX_MOVE of its range in one step
            reach = np.max(np.abs(step) / (self.hi - self.lo), axis=1, keepdims=True)
            step = step * np.minimum(1.0, MAX_MOVE / np.maximum(reach, 1e-300))
            trial = np.clip(za + step, self.lo, self.hi)
            ft, gt, Ht, badt = self._evaluate(trial, w[active])
            ok = ~badt & (ft < f[active])
            took = active[ok]
            gain = f[took] - ft[ok]
            z[took], f[took], g[took], H[took] = trial[ok], ft[ok], gt[ok], Ht[ok]
            steps[took] += 1
            lam[took] /= 3.0
            lam[active[~ok]] *= 4.0
            done = np.zeros(B, dtype=bool)
            done[took[0.5 * n_w[took] * gain <= F_TOL]] = True
            done[active[lam[active] > LAMBDA_MAX]] = True
            active = active[~done[active]]
        return z, bad

    def fit(self, weights: np.ndarray) -> list[dict[Any, dict[str, float]]]:
        """Per resample (rows of ``weights``, (B, n): how often each row of the problem was drawn) every node's
        refitted parameters."""
        weights = np.atleast_2d(np.asarray(weights, dtype=float))
        out: list[dict[Any, dict[str, float]]] = []
        per = max(1, CELLS // (max(1, self.problem.n) * (self.p + 4)))
        for at in range(0, len(weights), per):
            w = weights[at : at + per]
            z, bad = self._refine(w) if self.p else (np.zeros((len(w), 0)), np.zeros(len(w), dtype=bool))
            for b in range(len(w)):
                if bad[b]:  # singular design: the per-node path copes (its profile keeps such a column at rss0)
                    rows = np.repeat(np.arange(self.problem.n), w[b].astype(np.int64))
                    fits = fit_nodes(self.problem, self.families, rows=rows, start=self.start)
                    out.append({n: dict(f.transform.params) for n, f in fits.items()})
                    continue
                out.append(
                    {
                        nc.node: dict(zip(nc.names, map(float, nc.natural(z[b, self.slices[nc.node]]))))
                        for nc in self.nodes
                    }
                )
        return out
