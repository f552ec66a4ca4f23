"""Calibrating a linear SCM to lift tests: the experiments pin down the confounding bias of the tested paths.

Why not a prior. Thousands of observational rows give a precise but biased coefficient when spend follows a demand
signal that is not a node: precision-weighting a lift test against them leaves the bias in place (the test is
outvoted, see docs/engine.md). So the bias is a free parameter that only the experiment identifies.

The model. For a tested node s and the edge s -> c chosen to carry the calibration (``edges``; default: s's only
child on a path to the target, else its direct edge into the target), c's equation is read as
c = f(parents) + delta_s (s - mean s) + e with e uncorrelated with the parents: the hidden confounder reaches c's
parents only through s (it drives the spend, and the spend's other co-parents are independent of it given s).
Least squares then estimates b_cs + delta_s for s and the other coefficients without bias, so the calibrated model
keeps every other coefficient at its least-squares value (they are the least-squares fit given the bias term) and
moves b_cs by -delta_s. The deltas (one per tested node) minimise sum_k ((implied_k - lift_k) / lift_se_k)^2, the
implied lift of test k being the target's expected change under do(s_k := s_k + spend_change_k spread over the
test): a_s * E_k with a_s the total effect through every path and E_k the test's exposure (below). One test per
node fits exactly; several tests on a node give their precision-weighted mean; tests on nested nodes are solved jointly
(least squares over the deltas).

Exposure. Without learned transforms E_k = spend_change_k (the closed form of the linear case). A node with learned
carryover/saturation (``fit_scm(transforms=...)``) is held as its transformed series g(s) = saturation(carryover(s));
when its children are linear in g(s) and everything downstream is linear, the implied lift is still a_s * E_k, with
E_k = sum over rows of g(s + d) - g(s): d spreads spend_change_k over the test's rows (its unit, or every unit when
``unit`` is null, and the periods start..end) in proportion to each row's observed spend there (evenly when they
spent nothing), i.e. the test scales the spend of its window by one factor, as a spend level does
(:mod:`interventions`); the carryover runs per unit in time order, so the change also reaches the max_lag periods
after end_period (within the data): that tail is counted, being part of what the test caused (a geo test's
measurement window usually includes a cool-down; a lift measured without it reads low against the model). The
lift stays linear in the calibrated coefficient, so the same closed-form pinning applies; a bootstrap resample
recomputes E_k with its refitted transform parameters on the same windows. Nonlinear mechanisms downstream of a
tested node are refused (``NonlinearCalibrationError``).

ICI of the calibrated model (the definition, testable): noise_c = c - f_calibrated(parents), which now co-varies
with s; ICI is computed on the SCM in which every node's noise is independent of the others (as the estimators
sample it): ICI_j = a_j^2 Var(noise_j) in closed form. The hidden confounder's part of the child is credited to the
child's own noise, the spend gets its variation times its experimental return. The covariance the definition leaves
out (2 a_s a_c Cov(noise_s, noise_c), summed over pairs) is reported as ``noise_covariance_share`` of Var(target):
the part of the target's variance that the independent-noise model does not reproduce.

Intervals: a bootstrap resample of the calibrated SCM is fitted by least squares and calibrated again with each lift
redrawn from N(lift, lift_se) (``Calibration.reapply``, called by ``FittedSCM.refit``).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from .effects import total_effects
from .experiments import _periods, format_period, validate_lift_tests
from .mechanisms import LinearMechanism
from .result import EngineResult, Facts
from .scm import FittedSCM
from .sensitivity import edge_t_statistics, robustness_value
from .transforms import lag_matrix, time_positions
from .validation import relevant_nodes

CALIBRATION_COLUMNS = [
    "test",
    "node",
    "child",
    "unit",
    "start_period",
    "end_period",
    "spend_change",
    "lift",
    "lift_se",
    "implied_before",
    "implied_after",
    "z_before",
    "z_after",
]

ICI_DEFINITION = "independent_noise"


class NonlinearCalibrationError(ValueError):
    """A tested node reaches the target through a nonlinear mechanism: the implied lift is not linear in one
    coefficient, so the closed-form calibration does not apply (fit those nodes linear; see docs/engine.md)."""


@dataclass(frozen=True)
class _Window:
    """A test's spend change through a node's learned carryover: the lag windows of every row it reaches, before
    and after the change (raw spend, so any transform parameters can be applied to them)."""

    before: np.ndarray
    after: np.ndarray

    def exposure(self, transform: Any) -> float:
        """sum over the reached rows of g(s + d) - g(s) under `transform`."""
        L = self.before.shape[1]
        return float(np.sum(transform.apply(self.after[:, :L]) - transform.apply(self.before[:, :L])))


@dataclass(frozen=True)
class Calibration:
    """What calibration moved (per tested node: the edge (node, child) and the shift of its coefficient) and what
    it was calibrated to (target and the validated tests), so a bootstrap resample can calibrate again."""

    edges: dict[Any, Any]
    shift: dict[Any, float]
    target: Any = None
    tests: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    windows: dict[int, _Window] = field(default_factory=dict, repr=False, compare=False)

    def implied_lifts(self, scm: FittedSCM) -> np.ndarray:
        """The lift `scm` implies for each calibrated test (a_s x E_k, E_k with scm's own transform parameters):
        on a bootstrap resample of a calibrated model, what its calibration matched."""
        assert self.tests is not None
        order = relevant_nodes(scm.graph, self.target)
        a = total_effects(
            order, {n: scm.linear_coefficients(n) for n in order if scm.kinds[n] == "linear"}, self.target
        )
        return np.array([a[s] for s in self.tests["node"]]) * _exposures(scm, self.tests, self.windows)

    def reapply(self, scm: FittedSCM, rows: np.ndarray) -> FittedSCM:
        """Calibrate a least-squares refit (a bootstrap resample on `rows`) again, each lift redrawn from
        N(lift, lift_se) with a seed derived from the SCM's seed and the rows: the resample's calibrated model
        carries the tests' uncertainty as well as the data's."""
        assert self.tests is not None
        missing = [n for n in [self.target, *self.edges, *self.edges.values()] if n not in scm.graph]
        if missing:
            raise ValueError(f"the calibrated SCM was restricted to nodes without {missing!r}: keep the tested paths")
        rng = np.random.default_rng([scm.seed, zlib.crc32(np.ascontiguousarray(rows).tobytes())])
        tests = self.tests.assign(
            lift=self.tests["lift"] + rng.standard_normal(len(self.tests)) * self.tests["lift_se"]
        )
        plain = replace(scm, calibration=None)
        shift = _solve(plain, self.target, tests, self.edges, _exposures(plain, tests, self.windows)).shift
        return _apply(plain, replace(self, shift=shift))


@dataclass(frozen=True)
class _Solution:
    """The deltas and what they imply: returns before and after, their Jacobian, the fit's residuals."""

    tested: list[Any]
    shift: dict[Any, float]
    before: np.ndarray
    after: np.ndarray
    which: list[int]
    residuals: np.ndarray
    return_se: np.ndarray
    base: dict[Any, dict[Any, float]]


def _solve(scm: FittedSCM, target: Any, tests: pd.DataFrame, chosen: Mapping[Any, Any], spend: np.ndarray) -> _Solution:
    """The shifts of the chosen edges' coefficients minimising the tests' squared z-scores (module docstring);
    `spend` holds each test's exposure E_k (its spend change without learned transforms)."""
    order = relevant_nodes(scm.graph, target)
    tested = list(dict.fromkeys(tests["node"]))
    base = {n: scm.linear_coefficients(n) for n in order if scm.kinds[n] == "linear"}
    lift = tests["lift"].to_numpy(float)
    se = tests["lift_se"].to_numpy(float)
    which = [tested.index(s) for s in tests["node"]]

    def returns(shift: np.ndarray) -> np.ndarray:
        coefs = {c: dict(b) for c, b in base.items()}
        for i, s in enumerate(tested):
            coefs[chosen[s]][s] = coefs[chosen[s]][s] + shift[i]
        a = total_effects(order, coefs, target)
        return np.array([a[s] for s in tested])

    def residuals(shift: np.ndarray) -> np.ndarray:
        return (returns(shift)[which] * spend - lift) / se

    zero = np.zeros(len(tested))
    fit = optimize.least_squares(residuals, zero, method="trf", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    jac_r = _jacobian(returns, fit.x)  # d returns / d shift
    cov = np.linalg.pinv(fit.jac.T @ fit.jac)
    ret_se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", jac_r, cov, jac_r), 0.0))
    return _Solution(
        tested,
        {s: float(fit.x[i]) for i, s in enumerate(tested)},
        returns(zero),
        returns(fit.x),
        which,
        residuals(fit.x),
        ret_se,
        base,
    )


@dataclass(frozen=True, kw_only=True)
class CalibrationFacts(Facts):
    """calibrate_scm's own facts: per tested node the calibrated edge, its coefficient and the node's total effect
    on the target (its marginal return; for a node with learned transforms, per EUR of its tests' spend change: the
    implied lifts over the spend changes) before and after, the calibrated return's standard error (from the tests),
    the chi-square of the tests after calibration and its degrees of freedom (tests - tested nodes), the ICI
    definition used, the share of Var(target) in noise covariances the definition leaves out, per tested node the
    strength of the hidden confounder the calibration implies (``confounder_r2_needed``: the partial R^2 with both
    the node and the child, Cinelli and Hazlett's RV_q with q = |shift| / |least-squares coefficient|; near 1 says
    the test is hard to reconcile with the graph), and the calibrated SCM (not in ``as_dict``)."""

    edges: dict[str, str]
    coefficient_before: dict[str, float]
    coefficient_after: dict[str, float]
    return_before: dict[str, float]
    return_after: dict[str, float]
    return_after_se: dict[str, float]
    chi2: float
    chi2_dof: int
    ici_definition: str = ICI_DEFINITION
    noise_covariance_share: float = 0.0
    confounder_r2_needed: dict[str, float] = field(default_factory=dict)
    scm: Any = field(default=None, repr=False, compare=False, metadata={"json": False})


def _check_linear(scm: FittedSCM, order: list[Any]) -> None:
    bad = [n for n in order if scm.kinds[n] not in ("root", "linear")]
    if bad:
        raise NonlinearCalibrationError(
            f"calibration to lift tests needs linear mechanisms from the tested nodes to the target; node(s) {bad!r} "
            "are nonlinear: fit them with mechanisms='linear' (a spend node's diminishing returns belong in its "
            "learned saturation, fit_scm(transforms={node: {'saturation': 'auto'}}), which calibration supports)"
        )


def _exposures(scm: FittedSCM, tests: pd.DataFrame, windows: Mapping[int, _Window]) -> np.ndarray:
    """E_k per test (module docstring): the spend change, or the change of the transformed series it causes."""
    out = tests["spend_change"].to_numpy(float).copy()
    for k, window in windows.items():
        out[k] = window.exposure(scm.transforms[tests["node"].iloc[k]])
    return out


def _windows(scm: FittedSCM, tests: pd.DataFrame) -> dict[int, _Window]:
    """Per test on a node with learned transforms, the lag windows its spend change reaches (module docstring)."""
    out: dict[int, _Window] = {}
    for k, row in enumerate(tests.to_dict("records")):
        node = row["node"]
        if node not in scm.transforms:
            continue
        label = tests.index[k]
        if scm.periods is None or scm.period_values is None:
            raise ValueError(
                f"lift test row {label!r}: node {node!r} has learned transforms, so the test's periods matter: fit "
                "the SCM with time_column=<the period column> to calibrate"
            )
        values = np.asarray(scm.period_values)[scm.periods]
        when = _periods(values).to_numpy()
        mask = (when >= row["start_period"]) & (when <= row["end_period"])
        units = scm.row_units
        if not pd.isna(row["unit"]):
            if units is None:
                raise ValueError(
                    f"lift test row {label!r} ran in unit {row['unit']!r}, but the SCM was fitted without "
                    "unit_column=: fit it with the unit column to calibrate a test on one unit"
                )
            mask &= np.array([str(u) for u in units]) == str(row["unit"])
        if not mask.any():
            raise ValueError(f"lift test row {label!r}: no row of the data lies in its unit and periods")
        spend = scm.spend(node)
        share = np.where(mask, np.maximum(spend, 0.0), 0.0)
        share = share / share.sum() if share.sum() > 0 else mask / mask.sum()
        change = float(row["spend_change"]) * share
        before = scm.spend_lags[node]
        max_lag = before.shape[1] - 1
        moved = (
            lag_matrix(change, units, time_positions(pd.Series(values)), max_lag, node=node)
            if max_lag
            else change[:, None]
        )
        reached = np.flatnonzero(np.nansum(np.abs(moved), axis=1) > 0)
        out[k] = _Window(before[reached], before[reached] + moved[reached])
    return out


def _choose_edge(scm: FittedSCM, node: Any, target: Any, order: list[Any], given: Mapping[Any, Any]) -> Any:
    """The child whose coefficient on `node` carries the calibration (see the module docstring)."""
    on_path = [c for c in scm.graph.successors(node) if c in order]
    if node in given:
        child = given[node]
        if child not in on_path:
            raise ValueError(
                f"edges[{node!r}] = {child!r} is not an edge from {node!r} on a path to {target!r}; "
                f"use one of {sorted(map(str, on_path))!r}"
            )
        return child
    if len(on_path) == 1:
        return on_path[0]
    if target in on_path:
        return target
    raise ValueError(
        f"node {node!r} reaches {target!r} through several children ({sorted(map(str, on_path))!r}) and has no "
        f"direct edge into it: say which edge carries the confounding, e.g. edges={{{node!r}: {on_path[0]!r}}}"
    )


def calibrate_scm(
    scm: FittedSCM,
    target: Any,
    tests: pd.DataFrame,
    *,
    edges: Mapping[Any, Any] | None = None,
    units: Any = None,
) -> EngineResult[CalibrationFacts]:
    """Calibrate a linear SCM to lift tests: one row per test with the lift implied before and after, the measured
    lift and the z-scores; ``facts.scm`` is the calibrated model (its ICI: ``estimate_ici(facts.scm, target,
    n_bootstrap=0)``, under the independent-noise definition of the module docstring). The tests are validated first
    (``validate_lift_tests``: nodes, the SCM's periods when it knows its time column, ``units`` when given); the
    implied lift of a test is a_s x spend_change, so with linear mechanisms and no carryover the unit and the period
    of a test do not change it; through a node's learned carryover/saturation it is a_s x E_k (module docstring:
    the change spread over the test's rows in proportion to their spend, its carryover tail counted). ``edges``
    {tested node: child} chooses the edge whose coefficient moves. Raises NonlinearCalibrationError when a node
    between a tested node and the target has a nonlinear mechanism."""
    start = time.perf_counter()
    if target not in scm.graph:
        raise ValueError(f"target {target!r} is not a node of the fitted SCM's graph")
    order = relevant_nodes(scm.graph, target)
    _check_linear(scm, order)
    tests = validate_lift_tests(tests, scm.order, periods=scm.period_values, units=units)
    if tests.empty:
        raise ValueError("no lift tests given: calibration needs at least one row")
    for label, row in tests.iterrows():
        if row["node"] not in order or row["node"] == target:
            raise ValueError(
                f"lift test row {label!r}: node {row['node']!r} has no directed path to {target!r} in the graph, so "
                "the model implies a lift of 0: add the path or drop the test"
            )
    tested = list(dict.fromkeys(tests["node"]))
    chosen = {s: _choose_edge(scm, s, target, order, edges or {}) for s in tested}
    windows = _windows(scm, tests)
    exposure = _exposures(scm, tests, windows)
    sol = _solve(scm, target, tests, chosen, exposure)
    spend, lift, se = (tests[c].to_numpy(float) for c in ("spend_change", "lift", "lift_se"))
    before, after, which, base = sol.before, sol.after, sol.which, sol.base
    implied_before = before[which] * exposure
    implied_after = after[which] * exposure
    # a learned-transform node's return is per EUR of its tests' spend change (a_s is per unit of g(s))
    per_eur = {
        s: float(exposure[m].sum() / spend[m].sum()) if s in scm.transforms else 1.0
        for s in tested
        for m in [tests["node"].to_numpy() == s]
    }
    table = pd.DataFrame(
        {
            "test": list(tests.index),
            "node": tests["node"].to_numpy(),
            "child": [chosen[s] for s in tests["node"]],
            "unit": tests["unit"].to_numpy(),
            "start_period": tests["start_period"].to_numpy(),
            "end_period": tests["end_period"].to_numpy(),
            "spend_change": spend,
            "lift": lift,
            "lift_se": se,
            "implied_before": implied_before,
            "implied_after": implied_after,
            "z_before": (implied_before - lift) / se,
            "z_after": (implied_after - lift) / se,
        },
        columns=CALIBRATION_COLUMNS,
    )
    calibrated = _apply(scm, Calibration(chosen, sol.shift, target, tests, windows))
    key = {s: f"{s} -> {chosen[s]}" for s in tested}
    facts = CalibrationFacts(
        method="calibrated_linear",
        target=str(target),
        n_rows=len(scm.data),
        seed=scm.seed,
        n_periods=scm.n_periods,
        edges={str(s): str(chosen[s]) for s in tested},
        coefficient_before={key[s]: float(base[chosen[s]][s]) for s in tested},
        coefficient_after={key[s]: float(base[chosen[s]][s] + sol.shift[s]) for s in tested},
        return_before={str(s): _per(before[i], per_eur[s]) for i, s in enumerate(tested)},
        return_after={str(s): _per(after[i], per_eur[s]) for i, s in enumerate(tested)},
        return_after_se={str(s): _per(sol.return_se[i], abs(per_eur[s])) for i, s in enumerate(tested)},
        chi2=float(np.sum(sol.residuals**2)),
        chi2_dof=len(tests) - len(tested),
        noise_covariance_share=noise_covariance_share(calibrated, target),
        confounder_r2_needed={str(s): _r2_needed(scm, s, chosen[s], sol.shift[s]) for s in tested},
        scm=calibrated,
        seconds=time.perf_counter() - start,
    )
    return EngineResult(table, facts)


def _per(value: float, factor: float) -> float:
    """value x factor, untouched when the factor is 1 (the linear case stays bit-identical)."""
    return float(value) if factor == 1.0 else float(value) * factor


def _r2_needed(scm: FittedSCM, node: Any, child: Any, shift: float) -> float:
    """RV_q of the edge node -> child with q = |shift| / |least-squares coefficient|: the confounder strength (equal
    partial R^2 with node and child) that would bias least squares by the shift calibration applied."""
    parents = scm.parents[child]
    beta, se, dof = edge_t_statistics(scm.data, parents, child)
    i = parents.index(node)
    if beta[i] == 0 or se[i] <= 0:
        return float("nan")
    return robustness_value(float(beta[i] / se[i]), dof, q=abs(shift) / abs(float(beta[i])))


def lift_test_disagreements(result: EngineResult[CalibrationFacts], max_z: float = 3.0) -> list[str]:
    """One message per test the calibrated model still disagrees with beyond `max_z` standard errors (the
    experiments_agree check): which test, the implied and measured lifts, and the path that could not absorb it."""
    out = []
    for row in result.table.to_dict("records"):
        z = float(row["z_after"])
        if abs(z) > max_z:
            unit = "all units" if row["unit"] is None or pd.isna(row["unit"]) else f"unit {row['unit']!r}"
            span = f"{format_period(row['start_period'])} to {format_period(row['end_period'])}"
            out.append(
                f"lift test row {row['test']!r} ({row['node']}, {unit}, {span}): the calibrated model implies "
                f"{row['implied_after']:,.0f} against a measured {row['lift']:,.0f} +- {row['lift_se']:,.0f} "
                f"(z {z:+.1f}) through {row['node']} -> {row['child']}; another test on {row['node']} or the "
                "graph's paths from it disagree: check the tests and the graph"
            )
    return out


def _jacobian(fn: Any, x: np.ndarray) -> np.ndarray:
    """Central finite differences of a vector function (exact for the linear maps of the usual case)."""
    y0 = fn(x)
    out = np.empty((len(y0), len(x)))
    for j in range(len(x)):
        h = 1e-4 * max(1.0, abs(x[j]))
        e = np.zeros(len(x))
        e[j] = h
        out[:, j] = (fn(x + e) - fn(x - e)) / (2 * h)
    return out


def _apply(scm: FittedSCM, calibration: Calibration) -> FittedSCM:
    """The SCM with each calibrated edge's coefficient shifted: f_c(parents) + shift (s - mean s), so the noise of c
    keeps mean 0 and every other coefficient keeps its least-squares value; noises and R^2 recomputed."""
    mechanisms, noise, r2 = dict(scm.mechanisms), dict(scm.noise), dict(scm.r2)
    for s, c in calibration.edges.items():
        mech = mechanisms[c]
        assert isinstance(mech, LinearMechanism)
        moved = deepcopy(mech)
        i = scm.parents[c].index(s)
        mean_s = float(scm.data[s].to_numpy(dtype=float).mean())
        moved.coef_ = np.array(moved.coef_, dtype=float)
        moved.coef_[i] += calibration.shift[s]
        moved.intercept_ = float(moved.intercept_ - calibration.shift[s] * mean_s)
        mechanisms[c] = moved
    for c in set(calibration.edges.values()):
        X = scm.data[scm.parents[c]].to_numpy(dtype=float)
        y = scm.data[c].to_numpy(dtype=float)
        noise[c] = mechanisms[c].noise(X, y)
        var = y.var()
        r2[c] = float(1.0 - noise[c].var() / var) if var > 0 else 0.0
    return replace(scm, mechanisms=mechanisms, noise=noise, r2=r2, calibration=calibration)


def noise_covariance_share(scm: FittedSCM, target: Any) -> float:
    """The share of Var(target) (data) that is covariance between noise terms, 2 sum_{j<k} a_j a_k Cov(N_j, N_k):
    what the independent-noise ICI leaves out (about 0 for a least-squares fit of a graph the data agree with)."""
    order = relevant_nodes(scm.graph, target)
    coefs = {n: scm.linear_coefficients(n) for n in order if scm.kinds[n] == "linear"}
    a = total_effects(order, coefs, target)
    Z = np.column_stack([a[n] * (scm.noise[n] - scm.noise[n].mean()) for n in order])
    C = Z.T @ Z / len(Z)
    var_y = float(np.var(scm.data[target].to_numpy(dtype=float)))
    cross = float(C.sum() - np.trace(C))
    return cross / var_y if var_y > 0 else 0.0
