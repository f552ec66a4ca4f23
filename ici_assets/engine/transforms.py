"""Carryover (adstock) and saturation of a spend node: the families, their parameters, and how a spend series
becomes the level its children respond to, ``saturation(carryover(spend))``.

Carryover families (weights w_l over lags l = 0..max_lag, normalised by their sum over the lags present, so the
level stays in the spend's unit): ``geometric`` (w_l = decay^l), ``weibull`` (w_l = the Weibull density at l + 1
periods, ``shape`` and ``scale`` in periods: shape > 1 peaks after a delay), ``none`` (w = [1]).
Saturation families of the level x >= 0, each reaching half its maximum at ``half_saturation`` (in the spend's
unit): ``hill`` x^s / (x^s + K^s) (``slope`` s), ``michaelis_menten`` x / (x + K) (Hill with slope 1), ``logistic``
(1 - e^(-lam x)) / (1 + e^(-lam x)) with lam = ln 3 / K (PyMC-Marketing's logistic saturation, read by its half
point), ``exponential`` 1 - e^(-ln 2 x / K) (the negative-exponential curve of many media models; declared only:
``auto`` keeps to the other families), ``none`` (the level itself). Saturated values are fractions of the maximum
effect (0..1); the child's coefficient carries the unit.

The window runs per unit in time order and never crosses a unit or a gap: from the first lag whose period is
missing for that unit (the start of the series, a gap) on, lags are left out and the remaining weights
renormalised (a level after a gap restarts from the spend seen since).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

CARRYOVER_KINDS: tuple[str, ...] = ("none", "geometric", "weibull")  # simplest first
SATURATION_KINDS: tuple[str, ...] = ("none", "michaelis_menten", "exponential", "logistic", "hill")  # simplest first
AUTO_SATURATION: tuple[str, ...] = ("none", "michaelis_menten", "logistic", "hill")  # what 'auto' chooses among
PARAMETERS: dict[str, tuple[str, ...]] = {
    "none": (),
    "geometric": ("decay",),
    "weibull": ("shape", "scale"),
    "michaelis_menten": ("half_saturation",),
    "exponential": ("half_saturation",),
    "logistic": ("half_saturation",),
    "hill": ("half_saturation", "slope"),
}
MAX_LAG = 8
LN3 = float(np.log(3.0))
LN2 = float(np.log(2.0))


def carryover_weights(kind: str, params: Mapping[str, float], max_lag: int) -> np.ndarray:
    """Unnormalised weights w_0..w_max_lag of a carryover family (see the module docstring)."""
    lags = np.arange(max_lag + 1, dtype=float)
    if kind == "none":
        return np.ones(1)
    if kind == "geometric":
        return np.asarray(float(params["decay"]) ** lags, dtype=float)
    if kind == "weibull":
        k, lam = float(params["shape"]), float(params["scale"])
        x = (lags + 1.0) / lam
        w = (k / lam) * x ** (k - 1.0) * np.exp(-(x**k))
        return w / w.max() if w.max() > 0 else np.r_[1.0, np.zeros(max_lag)]
    raise ValueError(f"unknown carryover kind {kind!r}: use one of {', '.join(CARRYOVER_KINDS)} or 'auto'")


def saturate(kind: str, params: Mapping[str, float], x: np.ndarray) -> np.ndarray:
    """The saturation family applied to levels x >= 0 (see the module docstring)."""
    x = np.asarray(x, dtype=float)
    if kind == "none":
        return x
    K = float(params["half_saturation"])
    if kind == "michaelis_menten":
        return x / (x + K)
    if kind == "exponential":
        return -np.expm1(-LN2 / K * np.maximum(x, 0.0))
    if kind == "hill":
        s = float(params["slope"])
        r = np.power(np.maximum(x, 0.0) / K, s)
        return r / (1.0 + r)
    if kind == "logistic":
        e = np.exp(-LN3 / K * x)
        return (1.0 - e) / (1.0 + e)
    raise ValueError(f"unknown saturation kind {kind!r}: use one of {', '.join(SATURATION_KINDS)} or 'auto'")


def saturation_slope(kind: str, params: Mapping[str, float], x: np.ndarray) -> np.ndarray:
    """d saturate(kind, params, x) / dx at levels x >= 0 (exact): the marginal effect of the carried-over level,
    for marginal returns through a learned saturation. Hill with slope < 1 is infinitely steep at 0 (inf there)."""
    x = np.maximum(np.asarray(x, dtype=float), 0.0)
    if kind == "none":
        return np.ones_like(x)
    K = float(params["half_saturation"])
    if kind == "michaelis_menten":
        return K / (x + K) ** 2
    if kind == "exponential":
        return LN2 / K * np.exp(-LN2 / K * x)
    if kind == "hill":
        s = float(params["slope"])
        r = np.power(x / K, s)
        at_zero = 0.0 if s > 1 else 1.0 / K if s == 1 else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, s * r / np.where(x > 0, x, 1.0) / (1.0 + r) ** 2, at_zero)
    if kind == "logistic":
        lam = LN3 / K
        e = np.exp(-lam * x)
        return 2.0 * lam * e / (1.0 + e) ** 2
    raise ValueError(f"unknown saturation kind {kind!r}: use one of {', '.join(SATURATION_KINDS)} or 'auto'")


def weights_columns(kind: str, p: Mapping[str, np.ndarray], max_lag: int) -> np.ndarray:
    """(lags, m) carryover weights of m parameter sets (as :func:`transforms.carryover_weights`, column-wise)."""
    lags = np.arange(max_lag + 1, dtype=float)[:, None]
    if kind == "geometric":
        return np.asarray(p["decay"][None, :] ** lags, dtype=float)
    if kind == "weibull":
        k, lam = p["shape"][None, :], p["scale"][None, :]
        x = (lags + 1.0) / lam
        w = (k / lam) * x ** (k - 1.0) * np.exp(-(x**k))
        top = w.max(axis=0)
        safe = np.where(top > 0, top, 1.0)
        return np.where(top > 0, w / safe, (lags == 0).astype(float))
    raise ValueError(f"no carryover weights for kind {kind!r}")


def saturate_columns(kind: str, p: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Saturation of levels x (n, m) with m parameter sets, one per column (the formulas of :func:`saturate`)."""
    return saturate_with_derivatives(kind, p, x, derivatives=False)[0]


def saturate_with_derivatives(
    kind: str, p: Mapping[str, np.ndarray], x: np.ndarray, derivatives: bool = True
) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """:func:`saturate_columns`, its derivative in x, and its derivatives in the family's parameters on the
    refinement's scale (d/d log half_saturation, d/d log slope): the Jacobian of the bootstrap's refits."""
    if kind == "none":
        return x, (np.ones_like(x) if derivatives else None), []
    K = p["half_saturation"][None, :]
    if kind == "michaelis_menten":
        h = x / (x + K)
        if not derivatives:
            return h, None, []
        q = 1.0 / (x + K) ** 2
        return h, K * q, [-K * x * q]
    if kind == "exponential":
        c = LN2 / K
        e = np.exp(-c * x)
        h = 1.0 - e
        if not derivatives:
            return h, None, []
        return h, c * e, [-c * x * e]
    if kind == "hill":
        s = p["slope"][None, :]
        pos = x > 0
        u = np.where(pos, x, 1.0) / K
        r = np.where(pos, np.power(u, s), 0.0)
        h = r / (1.0 + r)
        if not derivatives:
            return h, None, []
        q = 1.0 / (1.0 + r) ** 2
        dx = np.where(pos, q * s * r / np.where(pos, x, 1.0), 0.0)
        return h, dx, [-q * s * r, q * r * np.log(u) * s]
    if kind == "logistic":
        e = np.exp(-LN3 / K * x)
        h = (1.0 - e) / (1.0 + e)
        if not derivatives:
            return h, None, []
        c = LN3 / K
        q = 2.0 * e / (1.0 + e) ** 2
        return h, c * q, [-q * c * x]
    raise ValueError(f"unknown saturation kind {kind!r}: use one of {', '.join(SATURATION_KINDS)} or 'auto'")


def time_positions(times: pd.Series | np.ndarray) -> np.ndarray:
    """Integer position of each row's period on a regular calendar: consecutive periods differ by 1, a gap by more.

    Dates and numbers: the step is the median difference of the distinct periods, and each difference counts
    round(diff / step) steps (at least 1), so months of 28-31 days are consecutive and a missing month is a gap.
    Other types (strings...): the sorted distinct values are consecutive."""
    codes, uniques = pd.factorize(pd.Series(times), sort=True)
    u = pd.Series(uniques)
    if len(u) < 2:
        return codes.astype(np.int64)
    if pd.api.types.is_datetime64_any_dtype(u) or pd.api.types.is_numeric_dtype(u):
        v = (u.astype("int64") if pd.api.types.is_datetime64_any_dtype(u) else u).to_numpy(dtype=float)
        diff = np.diff(v)
        step = float(np.median(diff))
        pos = np.r_[0, np.cumsum(np.maximum(1, np.rint(diff / step)))].astype(np.int64)
        return pos[codes]
    return codes.astype(np.int64)


def lag_matrix(
    values: np.ndarray, units: np.ndarray | None, positions: np.ndarray, max_lag: int, *, node: Any = "spend"
) -> np.ndarray:
    """(n, max_lag + 1): column l holds the same unit's value l periods earlier, NaN from the first absent period
    on (series start, a gap: the window never reaches across it); rows stay in the data's order. Raises if a unit
    has two rows in one period."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    unit_codes = np.zeros(n, dtype=np.int64) if units is None else pd.factorize(pd.Series(units))[0].astype(np.int64)
    pos = np.asarray(positions, dtype=np.int64) - int(np.min(positions)) + max_lag + 1
    span = int(pos.max()) + 1 if n else 1
    key = unit_codes * span + pos
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    if n > 1 and (np.diff(sorted_key) == 0).any():
        dup = order[np.flatnonzero(np.diff(sorted_key) == 0)[0]]
        raise ValueError(
            f"carryover of {node!r} needs one row per unit and period: row {int(dup)} shares its unit and period with "
            "another row; pass unit_column=<the unit's column> (e.g. region) or aggregate the rows first"
        )
    out = np.full((n, max_lag + 1), np.nan)
    for lag in range(max_lag + 1):
        want = key - lag
        at = np.clip(np.searchsorted(sorted_key, want), 0, max(n - 1, 0))
        hit = sorted_key[at] == want
        out[hit, lag] = values[order[at[hit]]]
    out[np.cumsum(np.isnan(out), axis=1) > 0] = np.nan  # a window stops at the first absent period
    return out


def carry(lags: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The carryover level of each row: sum_l w_l x_{t-l} / sum over the lags present of w_l (spend units)."""
    L = len(weights)
    block = lags[:, :L]
    present = ~np.isnan(block)
    num = np.where(present, block, 0.0) @ weights
    den = present @ weights
    return np.asarray(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0), dtype=float)


@dataclass(frozen=True)
class TransformSpec:
    """A spend node's declared transforms: carryover and saturation kinds ('auto' allowed) and the window length.

    Parsed from the column meta's shape (``{"carryover": {"kind": "geometric", "max_lag": 8}, "saturation":
    {"kind": "hill"}}``) or from plain kind strings (``{"carryover": "auto"}``)."""

    carryover: str = "none"
    saturation: str = "none"
    max_lag: int = MAX_LAG

    @classmethod
    def parse(cls, node: Any, spec: TransformSpec | Mapping[str, Any]) -> TransformSpec:
        """A spec from a mapping (as declared in YAML); errors name the node and the valid kinds."""
        if isinstance(spec, TransformSpec):
            return spec
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"transforms of node {node!r} must be a mapping like {{'carryover': 'geometric', 'saturation': "
                f"'hill'}}, got {spec!r}"
            )
        unknown = sorted(set(spec) - {"carryover", "saturation"})
        if unknown:
            raise ValueError(f"transforms of node {node!r}: unknown key(s) {unknown}; use 'carryover' and 'saturation'")

        def part(name: str, kinds: tuple[str, ...], extra: set[str]) -> tuple[str, dict[str, Any]]:
            value = spec.get(name, "none")
            options: dict[str, Any] = {}
            if isinstance(value, Mapping):
                bad = sorted(set(value) - {"kind"} - extra)
                if bad:
                    raise ValueError(f"{name} of node {node!r}: unknown key(s) {bad}; use {sorted({'kind'} | extra)}")
                options = {k: v for k, v in value.items() if k != "kind"}
                value = value.get("kind", "auto")
            kind = str(value).lower()
            if kind not in kinds + ("auto",):
                raise ValueError(
                    f"{name} of node {node!r}: unknown kind {value!r}; use one of {', '.join(kinds)} or 'auto'"
                )
            return kind, options

        carry_kind, carry_opts = part("carryover", CARRYOVER_KINDS, {"max_lag"})
        sat_kind, _ = part("saturation", SATURATION_KINDS, set())
        max_lag = carry_opts.get("max_lag", MAX_LAG)
        if isinstance(max_lag, bool) or not isinstance(max_lag, int | np.integer) or not 1 <= int(max_lag) <= 104:
            raise ValueError(
                f"carryover of node {node!r}: max_lag must be a whole number of periods in 1..104, got {max_lag!r}"
            )
        return cls(carry_kind, sat_kind, int(max_lag))

    @property
    def needs_time(self) -> bool:
        return self.carryover != "none"


@dataclass(frozen=True)
class Transform:
    """A fitted (or given) transform of one spend node: families and parameter values."""

    node: Any
    carryover: str = "none"
    saturation: str = "none"
    max_lag: int = MAX_LAG
    params: dict[str, float] = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray:
        """Carryover weights w_0..w_max_lag, normalised to sum to 1 (the full window)."""
        w = carryover_weights(self.carryover, self.params, self.max_lag)
        return w / w.sum()

    def level(self, lags: np.ndarray) -> np.ndarray:
        """Carryover level of each row from its lag matrix (see :func:`lag_matrix`)."""
        return carry(lags, carryover_weights(self.carryover, self.params, self.max_lag))

    def apply(self, lags: np.ndarray) -> np.ndarray:
        """saturation(carryover(spend)) of each row from its lag matrix: what the node's children see."""
        return saturate(self.saturation, self.params, self.level(lags))

    def describe(self) -> str:
        """One line a planner reads, e.g. ``tv_spend: geometric decay 0.71, hill half_saturation 41000 slope 2``."""
        parts = []
        for kind in (self.carryover, self.saturation):
            if kind != "none":
                vals = " ".join(f"{p} {self.params[p]:.3g}" for p in PARAMETERS[kind])
                parts.append(f"{kind} {vals}")
        return f"{self.node}: {', '.join(parts) or 'no transform'}"


def apply_transform(
    transform: Transform,
    data: pd.DataFrame,
    *,
    time_column: Any = None,
    unit_column: Any = None,
) -> np.ndarray:
    """The transformed series of ``transform.node`` for every row of ``data`` (carryover per unit in time order)."""
    x = data[transform.node].to_numpy(dtype=float)
    if transform.carryover == "none":
        lags = x[:, None]
    else:
        if time_column is None:
            raise ValueError(f"carryover of node {transform.node!r} needs time_column=<the period column>")
        units = None if unit_column is None else data[unit_column].to_numpy()
        lags = lag_matrix(x, units, time_positions(data[time_column]), transform.max_lag, node=transform.node)
    return transform.apply(lags)
