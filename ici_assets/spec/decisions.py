"""The `decisions` block of a model's `ici` meta: opt-in spend response, change attribution and budget assets.

    decisions:
      spend_nodes: [tv_spend, social_spend]     # nodes a budget can move (ancestors of the target)
      levels: 9                                 # per node: 9 levels from its 5th to 95th percentile;
                                                # or one list for every node, or {node: [levels]}
      change_attribution: {start: "2024-02-01"} # monthly partitions from this month (YYYY-MM-01), each month
                                                # against the one before; needs meta.ici.time_column
      budget: {total: current, bounds: {tv_spend: [20, 300]}}   # total per row; `budget: null` turns it off
      # budget: {max_change: 0.2, fixed: [social_spend]}          # no channel moves more than 20 %; one held
      # budget: {target_marginal_return: 1.5}                     # total free: spend until returns fall to 1.5
      n_bootstrap: 50                           # default: the model's n_bootstrap

Levels, totals and bounds are per row of the node table (per unit-period), in the node's units; max_change is
relative to a node's current level (its mean); target_marginal_return is in target units per unit of spend.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import numpy as np

#: Response levels per spend node when none are given: evenly spaced from its 5th to its 95th percentile.
DEFAULT_LEVELS = 9


class _Strict(BaseModel):
    """As strict as the ``ici`` meta (:mod:`ici_assets.spec.meta`): no unknown key, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _pair(value: object) -> object:
    """YAML has no tuples: a two-element list of bounds becomes a pair."""
    return tuple(value) if isinstance(value, list) else value


Bounds = Annotated[tuple[float | None, float | None], BeforeValidator(_pair)]


class BudgetMeta(_Strict):
    """The budget split: `total` per row ('current': today's total, a reallocation) and the planners' constraints:
    per-node bounds, a relative max_change, fixed nodes; or target_marginal_return instead of a total."""

    total: float | Literal["current"] = Field(
        default="current", description="Total spend per row to split; 'current': today's total (a reallocation)."
    )
    bounds: dict[str, Bounds] = Field(
        default_factory=dict, description="Per spend node, [low, high] per row (null: no bound on that side)."
    )
    max_change: float | dict[str, float] | None = Field(
        default=None,
        description="Largest move from a node's current level, relative (0.2: 20 %): one number for every node or "
        "per node.",
    )
    fixed: list[str] = Field(default_factory=list, description="Spend nodes held at their current level.")
    move_not_identified: bool = Field(
        default=False,
        description="Let the split move a spend node whose learned carryover or saturation the data do not identify "
        "(default: held at its current level, binding 'not identified': its response is an extrapolation).",
    )
    target_marginal_return: float | None = Field(
        default=None,
        description="Instead of a total: spend each node until its marginal return (target per unit of spend) "
        "falls to this; the total is then free.",
    )

    @model_validator(mode="after")
    def _constraints(self) -> BudgetMeta:
        changes = self.max_change.values() if isinstance(self.max_change, dict) else [self.max_change]
        if any(c is not None and not c >= 0 for c in changes):
            raise ValueError(f"max_change {self.max_change} must not be negative: 0.2 allows a 20 % move")
        if self.target_marginal_return is not None:
            if not self.target_marginal_return > 0:
                raise ValueError(
                    f"target_marginal_return {self.target_marginal_return} must be positive (target per unit of spend)"
                )
            if "total" in self.model_fields_set:
                raise ValueError(
                    f"total ({self.total}) and target_marginal_return ({self.target_marginal_return}) are exclusive: "
                    "the target mode chooses the total; drop one"
                )
        if len(set(self.fixed)) != len(self.fixed):
            raise ValueError(f"fixed {self.fixed} repeats a node: list each once")
        for key, given in (("bounds", self.bounds), ("max_change", self.max_change)):
            both = sorted(set(self.fixed) & set(given)) if isinstance(given, dict) else []
            if both:
                raise ValueError(f"{both} are fixed and also given {key}: a fixed node stays at its level, drop one")
        return self

    def named_nodes(self) -> dict[str, list[str]]:
        """The nodes each per-node key names (checked against spend_nodes)."""
        per_node = self.max_change if isinstance(self.max_change, dict) else {}
        return {"bounds": list(self.bounds), "max_change": list(per_node), "fixed": list(self.fixed)}

    def constraints(self) -> dict[str, Any]:
        """The engine's keywords (optimise_budget): bounds, max_change, fixed, target_marginal_return,
        move_not_identified."""
        return {
            "bounds": self.bounds,
            "max_change": self.max_change,
            "fixed": self.fixed,
            "target_marginal_return": self.target_marginal_return,
            "move_not_identified": self.move_not_identified,
        }


class ChangeAttributionMeta(_Strict):
    """Monthly partitions of the change attribution: first month (its baseline is the month before) and end."""

    start: str = Field(description="First month (YYYY-MM-01); its baseline is the month before.")
    end: str | None = Field(default=None, description="End month (exclusive), YYYY-MM-01; none: the current month.")

    @model_validator(mode="after")
    def _months(self) -> ChangeAttributionMeta:
        for key, value in (("start", self.start), ("end", self.end)):
            if value is not None and not re.fullmatch(r"\d{4}-\d{2}-01", value):
                raise ValueError(f"{key} must be the first day of a month as YYYY-MM-01, got {value!r}")
        return self


class DecisionsMeta(_Strict):
    """Which decision assets a model gets and how they are computed."""

    spend_nodes: list[str] = Field(min_length=1, description="Nodes a budget can move (ancestors of the target).")
    levels: int | list[float] | dict[str, list[float]] = Field(
        default=DEFAULT_LEVELS,
        description="Response levels: a count per node (5th to 95th percentile), one list for all, or per node.",
    )
    change_attribution: ChangeAttributionMeta | None = Field(
        default=None, description="Monthly partitions explaining each month against the one before."
    )
    budget: BudgetMeta | None = Field(
        default_factory=BudgetMeta, description="The budget split; null turns the budget asset off."
    )
    n_bootstrap: int | None = Field(default=None, ge=0, description="Resamples; default: the model's n_bootstrap.")

    @model_validator(mode="after")
    def _consistent(self) -> DecisionsMeta:
        if len(set(self.spend_nodes)) != len(self.spend_nodes):
            raise ValueError(f"spend_nodes {self.spend_nodes} repeat a node: list each once")
        if isinstance(self.levels, int) and self.levels < 2:
            raise ValueError(f"levels: {self.levels} is too few for a curve; give at least 2")
        if isinstance(self.levels, dict):
            extra = sorted(set(self.levels) - set(self.spend_nodes))
            if extra:
                raise ValueError(f"levels given for {extra}, which are not in spend_nodes {self.spend_nodes}")
        if self.budget is not None:
            for key, named in self.budget.named_nodes().items():
                extra = sorted(set(named) - set(self.spend_nodes))
                if extra:
                    raise ValueError(f"budget {key} given for {extra}, which are not in spend_nodes {self.spend_nodes}")
            if set(self.budget.fixed) >= set(self.spend_nodes):
                raise ValueError(f"budget fixed holds every spend node {self.spend_nodes}: nothing is left to move")
        return self

    def check_model(self, nodes: list[str], ancestors: set[str], time_column: str | None) -> None:
        """Every spend node is a node of the graph and an ancestor of the target, and monthly attribution has a
        time column; raise ValueError naming what is wrong."""
        for node in self.spend_nodes:
            if node not in nodes:
                raise ValueError(f"spend node {node!r} is not a node of the graph (nodes: {nodes})")
            if node not in ancestors:
                raise ValueError(f"spend node {node!r} is not an ancestor of the target: spending on it cannot move it")
        if self.change_attribution is not None and not time_column:
            raise ValueError("change_attribution compares months: it needs meta.ici.time_column")

    def levels_for(self, node: str, values: np.ndarray) -> list[float]:
        """The levels of `node`: explicit ones, or `levels` evenly spaced between its 5th and 95th percentiles."""
        import numpy as np

        if isinstance(self.levels, dict):
            if node in self.levels:
                return sorted(self.levels[node])
            count = DEFAULT_LEVELS
        elif isinstance(self.levels, list):
            return sorted(self.levels)
        else:
            count = self.levels
        lo, hi = np.quantile(np.asarray(values, dtype=float), [0.05, 0.95])
        return [float(x) for x in np.linspace(lo, hi, count)]
