"""Categorical nodes: a string or boolean column (promotion type, weekday, holiday name) as a root node.

The fitted SCM holds such a column as integer codes 0..K-1 (its levels sorted; code 0, the first level, is the
reference) and its levels in ``FittedSCM.categories``. A root's noise is its value, so the Monte Carlo estimators
resample observed codes and keep the levels. A child sees the categorical parent through treatment coding (K-1
dummy columns, one per non-reference level) inside its mechanism, whatever its kind: OLS on the dummies for a
linear child, the same dummies in the spline (they enter linearly: their knots are not distinct), polynomial
(dummy x parent products: a slope per level) or boosting bases. This follows DoWhy's gcm, which one-hot encodes
categorical inputs of its regressors and models a categorical root by its empirical distribution; DoWhy's
classifier mechanism for a categorical non-root has no additive noise, so ICI's variance game does not apply to
it: we refuse categorical non-roots and targets instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .mechanisms import LinearMechanism, Mechanism

#: A level must be seen in at least this many periods (rows without a time column): its effect is the mean of the
#: child's residuals over those periods, and the 5-fold mechanism choice and the block bootstrap drop or split
#: a level seen less often, so its coefficient would be noise (its standard error above 0.45 of the child's
#: noise scale even with independent periods).
MIN_LEVEL_PERIODS = 5


def is_categorical(column: pd.Series) -> bool:
    """Whether a column is categorical: boolean, string/object or pandas ``category`` dtype."""
    dtype = column.dtype
    return bool(
        pd.api.types.is_bool_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def levels_of(column: pd.Series) -> tuple[Any, ...]:
    """The column's distinct levels, sorted (by text when they do not compare): code i is level i."""
    values = pd.unique(column.to_numpy(dtype=object))
    try:
        return tuple(sorted(values))
    except TypeError:
        return tuple(sorted(values, key=str))


def encode(column: pd.Series, levels: Sequence[Any]) -> np.ndarray:
    """Codes 0..K-1 (as floats, the SCM's numeric frame) of a column's values among ``levels``."""
    index = {level: i for i, level in enumerate(levels)}
    return np.array([index[v] for v in column.to_numpy(dtype=object)], dtype=float)


def check_levels(
    column: pd.Series,
    node: Any,
    periods: np.ndarray | None,
    minimum: int = MIN_LEVEL_PERIODS,
    levels: Sequence[Any] | None = None,
) -> None:
    """Raise ValueError naming the node, the level, its count and the threshold if a level (of the column, or of
    ``levels``) is seen in fewer than ``minimum`` periods (distinct period codes; rows when ``periods`` is None)."""
    values = column.to_numpy(dtype=object)
    unit = "rows" if periods is None else "periods"
    for level in levels_of(column) if levels is None else levels:
        seen = values == level
        count = int(seen.sum()) if periods is None else len(np.unique(periods[seen]))
        if count < minimum:
            raise ValueError(
                f"level {level!r} of categorical node {node!r} is seen in {count} {unit}, fewer than the {minimum} "
                f"needed to estimate its effect: merge it into another level (e.g. 'other') in the node table, or "
                f"drop those rows{_numeric_hint(column)}"
            )


def _numeric_hint(column: pd.Series) -> str:
    """A hint when a text column is mostly numbers (a quantity stored as text, not a category)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return ""
    numbers = pd.to_numeric(pd.Series(column.to_numpy(dtype=object)), errors="coerce")
    if numbers.notna().mean() < 0.9:
        return ""
    odd = sorted(set(map(str, column[numbers.isna().to_numpy()])))[:3]
    return " (its values are mostly numeric text: if it is a quantity, cast it to a float column" + (
        f"; not a number: {', '.join(map(repr, odd))})" if odd else ")"
    )


class CategoricalParents(Mechanism):
    """A mechanism whose categorical parents enter through treatment coding: the parents at positions ``columns``
    (codes 0..K-1, ``n_levels`` K each) become K-1 dummy columns before ``inner`` (any kind) sees them."""

    def __init__(self, inner: Mechanism, columns: tuple[int, ...] = (), n_levels: tuple[int, ...] = ()) -> None:
        self.inner = inner
        self.columns = columns
        self.n_levels = n_levels

    @property
    def kind(self) -> str:  # type: ignore[override]  # the inner mechanism's kind: linear, poly2, spline or hgb
        return self.inner.kind

    def expand(self, X: np.ndarray) -> np.ndarray:
        """The design the inner mechanism sees: continuous parents as they are, each categorical one as dummies."""
        X = np.asarray(X, dtype=float)
        parts = []
        for j in range(X.shape[1]):
            if j in self.columns:
                k = self.n_levels[self.columns.index(j)]
                parts.append((X[:, [j]] == np.arange(1, k)[None, :]).astype(float))
            else:
                parts.append(X[:, [j]])
        return np.hstack(parts)

    def fit(self, X: np.ndarray, y: np.ndarray) -> CategoricalParents:
        self.inner.fit(self.expand(X), y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.inner.predict(self.expand(X))

    def linear_parts(self) -> tuple[dict[int, float], dict[int, np.ndarray]]:
        """For a linear inner mechanism: (coefficient of each continuous parent, by position; effect of each level of
        each categorical parent relative to its reference level, by position, level 0 first with 0)."""
        if not isinstance(self.inner, LinearMechanism):
            raise ValueError(f"a {self.inner.kind!r} mechanism has no linear coefficients")
        coef, at = self.inner.coef_, 0
        continuous: dict[int, float] = {}
        levels: dict[int, np.ndarray] = {}
        for j in range(len(self.columns) + self._n_continuous()):
            if j in self.columns:
                k = self.n_levels[self.columns.index(j)]
                levels[j] = np.r_[0.0, coef[at : at + k - 1]]
                at += k - 1
            else:
                continuous[j] = float(coef[at])
                at += 1
        return continuous, levels

    def _n_continuous(self) -> int:
        n_dummies = sum(k - 1 for k in self.n_levels)
        return len(self.inner.coef_) - n_dummies  # type: ignore[attr-defined]
