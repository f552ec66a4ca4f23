"""What every engine entry point returns: its table and the facts of how it was obtained, in one vocabulary.

``EngineResult(table, facts)``: ``facts`` is a :class:`Facts` (the names every entry point shares: method,
target, n_rows, seed, seconds, the bootstrap's, Monte Carlo sizes) or a subclass adding the entry point's own
(:class:`IciFacts`, :class:`ResponseFacts`, :class:`ReturnsFacts`, :class:`BudgetFacts`, :class:`ChangeFacts`,
:class:`AnomalyFacts`); ``facts.as_dict()``
gives them JSON-ready for metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from .sparse import SparseNode

COLUMNS = ["node", "ici", "share", "share_low", "share_high", "mechanism", "r2"]


@dataclass(frozen=True, kw_only=True)
class Facts:
    """How a result was obtained, the same names in every entry point.

    method: closed_form_linear (every mechanism involved is linear: exact), shapley_exact, shapley_permutation
    (ICI), closed_form_transforms (decisions through learned carryover/saturation, every mechanism below linear in
    the transformed series: exact) or simulation (decisions). n_rows: rows the model was fitted on (change
    attribution: both samples).
    n_periods: distinct periods of those rows (None without a time column). seconds: wall time of the call.
    The bootstrap (n_bootstrap 0: no interval, and resampling 'none'): resampling 'row' or 'block', block_length
    in periods (block only), interval method and level, n_degenerate_resamples (resamples in which some
    regression was rank-deficient or some node constant: solved by pseudo-inverse and kept).
    n_samples: simulated noise rows (0: closed form, nothing simulated). max_mc_se: the largest Monte Carlo
    standard error of the table's values (ICI: of a share, in points; None without Monte Carlo).
    """

    method: str
    target: str
    n_rows: int
    seed: int
    seconds: float = 0.0
    n_periods: int | None = None
    n_bootstrap: int = 0
    resampling: str = "none"
    block_length: int | None = None
    interval: str | None = None
    level: float | None = None
    n_degenerate_resamples: int = 0
    n_samples: int = 0
    max_mc_se: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly facts for metadata (numbers, strings, booleans and lists; None values left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = _plain(getattr(self, f.name))
            if value is not None and f.metadata.get("json", True):
                out[f.name] = value
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, SparseNode):
        return str(value.node)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True, kw_only=True)
class IciFacts(Facts):
    """ICI's own facts: Var(target) in the data and the sum of the ICI (the closed form's model variance),
    Var(Y) of the simulated model (Shapley), permutations sampled, sparse nodes (see ``flag_sparse_nodes``) and
    each share's Monte Carlo standard error in points (array, not in ``as_dict``; its max is ``max_mc_se``), and
    whether the draw cap (max_samples) stopped the draws above the tolerance."""

    var_target_data: float
    ici_total: float
    var_y_model: float | None = None
    n_permutations: int | None = None
    sparse_nodes: tuple[SparseNode, ...] = ()
    mc_capped: bool = False
    share_mc_se: np.ndarray | None = field(default=None, repr=False, compare=False, metadata={"json": False})


@dataclass(frozen=True, kw_only=True)
class ResponseFacts(Facts):
    """spend_response's own facts: the node, its current level (mean) and observed range, the target's mean; the
    largest Monte Carlo error of a level relative to it, and whether the row cap (max_samples) stopped the draws
    above the tolerance."""

    node: str
    current_level: float
    observed_range: tuple[float, float]
    target_mean: float
    max_relative_mc_se: float = 0.0
    mc_capped: bool = False


@dataclass(frozen=True, kw_only=True)
class ReturnsFacts(Facts):
    """channel_returns' own facts: the target's total over the rows (the denominator of contribution_share);
    max_mc_se is the largest Monte Carlo error of an incremental target (0: exact)."""

    target_total: float


@dataclass(frozen=True, kw_only=True)
class HoldoutFacts(Facts):
    """time_split_fit's own facts (method: the target mechanism's kind): R^2 and mean absolute percentage error of
    the later periods from the mechanism refitted on the earlier ones, the in-sample R^2, and the rows of each part."""

    holdout_r2: float
    holdout_mape: float | None
    in_sample_r2: float
    n_train: int
    n_test: int
    test_fraction: float


@dataclass(frozen=True, kw_only=True)
class BudgetFacts(Facts):
    """optimise_budget's own facts: the total split, the expected uplift, whether the model has no diminishing
    returns (linear), and the plain sentence saying what that means for the split; the Monte Carlo error of the
    current split's expected target relative to it (max_mc_se: the uplift's) and whether the row cap stopped it."""

    total: float
    expected_uplift: float
    no_diminishing_returns: bool
    note: str
    max_relative_mc_se: float = 0.0
    mc_capped: bool = False


@dataclass(frozen=True, kw_only=True)
class ChangeFacts(Facts):
    """change_attribution's own facts: rows of each sample (n_rows is their sum), the observed change of the
    target's mean, and each sample's block length (``block_length`` is the longer of the two); the largest Monte
    Carlo error of a contribution relative to the target's old mean, and whether the pair cap stopped the draws."""

    n_old: int
    n_new: int
    observed_change: float
    block_lengths: tuple[int, int] | None = None
    max_relative_mc_se: float = 0.0
    mc_capped: bool = False


@dataclass(frozen=True, kw_only=True)
class AnomalyFacts(Facts):
    """attribute_anomalies' own facts: rows explained and flagged, the score threshold, E[target] under the model,
    background draws behind each expectation (0: closed form), and the largest |sum of contributions - deviation|."""

    n_explained: int
    n_flagged: int
    threshold: float
    expected: float
    n_background: int = 0
    max_sum_error: float = 0.0


@dataclass(frozen=True, kw_only=True)
class TransformFacts(Facts):
    """fit_transforms' own facts: nodes whose transform the data cannot pin down (``not_identified``) and why
    (``flags``: node -> reasons), the held-out error of each family 'auto' tried (``family_mse``: node -> {family:
    error}) and the z-score of each challenger's gain (``family_z``), one summary line per node, and the fitted
    transforms (not in ``as_dict``)."""

    not_identified: tuple[str, ...] = ()
    flags: dict[str, list[str]] = field(default_factory=dict)
    family_mse: dict[str, dict[str, float]] = field(default_factory=dict)
    family_z: dict[str, dict[str, float]] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    transforms: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"json": False})


F = TypeVar("F", bound=Facts)


@dataclass(frozen=True)
class EngineResult(Generic[F]):
    """An engine entry point's table and the facts of how it was obtained."""

    table: pd.DataFrame
    facts: F


#: estimate_ici's result: the ICI table (one row per node: COLUMNS) and its :class:`IciFacts`.
IciResult = EngineResult[IciFacts]
