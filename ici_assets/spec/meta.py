"""The ``ici`` meta of a dbt model and of its node columns, as strict typed models.

Every key is declared here; an unknown or misspelt key is refused (pydantic, ``extra="forbid"``)
with the closest valid key in the message, so ``n_boostrap: 5`` or a column's ``parent: [a]`` fail
when the definitions load instead of silently falling back to a default. A new block of the
model-level meta is one more field of :class:`ModelMeta` (with its own model, in its own module).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from ici_assets.spec.anomalies import AnomaliesMeta
from ici_assets.spec.automation import AutomationMeta
from ici_assets.spec.coverage import CoverageMeta
from ici_assets.spec.decisions import DecisionsMeta
from ici_assets.spec.experiments import ExperimentsMeta
from ici_assets.spec.montecarlo import MonteCarloMeta

Grain = Literal["day", "week", "month"]
Mechanisms = Literal["auto", "linear", "nonlinear"]
GRAINS: tuple[str, ...] = typing.get_args(Grain)
_MONTH_START = re.compile(r"^\d{4}-\d{2}-01$")


def _as_list(value: Any) -> Any:
    """A single column name where a list is expected becomes a one-element list."""
    return [value] if isinstance(value, str) else value


M = TypeVar("M", bound="BaseModel")
NameList = Annotated[list[str], BeforeValidator(_as_list)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ChecksMeta(_Strict):
    """Thresholds of the blocking asset checks that guard every ICI materialisation."""

    min_r2: float = Field(
        default=0.1, ge=0, description="Each non-root mechanism explains at least this share of its node's variance."
    )
    markov_alpha: float = Field(
        default=0.01, gt=0, le=1, description="Family-wise level of the local Markov tests of the graph (Bonferroni)."
    )
    markov_min_abs_corr: float = Field(
        default=0.02, ge=0, description="Rejections weaker than this partial correlation are ignored."
    )
    min_rows: int = Field(default=100, ge=0, description="The fewest rows a fit may use.")
    shares_stable: Literal["warn", "block"] = Field(
        default="warn",
        description="A share that moved beyond its interval since the last materialisation: warn (published all "
        "the same) or block (not published, nothing downstream runs).",
    )


class MonthlyMeta(_Strict):
    """One partition per month from ``start`` (YYYY-MM-01) to ``end`` (exclusive), each on the trailing window."""

    start: str = Field(description="First month, as YYYY-MM-01.")
    end: str | None = Field(default=None, description="End month (exclusive), YYYY-MM-01; none: the current month.")
    window_months: int = Field(default=6, ge=1, description="Each month is fitted on this many trailing months.")

    @field_validator("start", "end")
    @classmethod
    def _month_start(cls, value: str | None) -> str | None:
        if value is not None and not _MONTH_START.match(value):
            raise ValueError(f"must be the first day of a month as YYYY-MM-01, got {value!r}")
        return value


class PartitionsMeta(_Strict):
    """Partitioned ICI assets: per month (trailing window) and/or per value of a segment column."""

    monthly: MonthlyMeta | None = Field(default=None, description="One partition per month, on a trailing window.")
    segment: str | None = Field(default=None, description="A column: one dynamic partition per value (a region).")


class LastClickMeta(_Strict):
    """Where finance's last-click revenue lives and which node each clicked channel credits."""

    model: str = Field(description="The dbt model holding last-click revenue per channel.")
    channel_column: str = Field(default="channel", description="Its column naming the clicked channel.")
    value_column: str = Field(default="revenue", description="Its column of credited revenue.")
    channels: dict[str, str] = Field(description="Channel value -> the node it credits.")
    time_column: str | None = Field(default=None, description="Its date column (default: the model's time_column).")


class IciSettings(_Strict):
    """The settings a model may leave to the defaults of the component (``ici_defaults`` in defs.yaml)."""

    time_grain: Grain = Field(default="day", description="The period one row of a unit stands for.")
    mechanisms: Mechanisms = Field(
        default="auto",
        description="How non-root nodes are modelled: linear, nonlinear, or auto (chosen per node by held-out error).",
    )
    n_bootstrap: int = Field(default=200, ge=0, description="Bootstrap resamples behind each 95 % interval.")
    seed: int = Field(default=0, ge=0, description="Seed of every random draw: same data and code, same numbers.")
    checks: ChecksMeta = Field(default_factory=ChecksMeta, description="Thresholds of the blocking checks.")
    coverage: CoverageMeta = Field(  # its own module: ici_assets/spec/coverage.py
        default_factory=CoverageMeta,
        description="Gaps of the panel the coverage check accepts: units starting or ending late, missing periods.",
    )
    monte_carlo: MonteCarloMeta = Field(  # its own module: ici_assets/spec/montecarlo.py
        default_factory=MonteCarloMeta,
        description="The cap on the draws of simulated estimates (nonlinear ICI, decisions).",
    )


class ModelMeta(IciSettings):
    """A model's ``config.meta.ici``: the target, the grain columns and the options of its ICI assets."""

    target: str = Field(description="The node column whose variance is split (revenue).")
    unit: NameList = Field(
        default_factory=list, description="Columns identifying a unit (region); one row per unit and period."
    )
    time_column: str | None = Field(default=None, description="The date column of each row's period.")
    partitions: PartitionsMeta = Field(default_factory=PartitionsMeta, description="Partitioned ICI assets.")
    last_click: LastClickMeta | None = Field(default=None, description="Finance's last-click model, for comparison.")
    decisions: DecisionsMeta | None = Field(  # its own module: ici_assets/spec/decisions.py
        default=None, description="Opt-in decision assets: spend response, change attribution, budget."
    )
    automation: AutomationMeta = Field(  # its own module: ici_assets/spec/automation.py
        default_factory=AutomationMeta,
        description="When the model's ICI assets materialise by themselves (defaults: the component's automation).",
    )
    anomalies: AnomaliesMeta | None = Field(  # its own module: ici_assets/spec/anomalies.py
        default=None, description="Opt-in anomalies asset: why the latest unit-periods' target was off."
    )
    experiments: ExperimentsMeta | None = Field(  # its own module: ici_assets/spec/experiments.py
        default=None,
        description="The team's lift tests (a dbt model): the SCM is calibrated so its implied lifts agree with them.",
    )


class CarryoverMeta(_Strict):
    """A spend column's learned carryover (adstock): how much of a period's spend still acts in later periods."""

    kind: Literal["geometric", "weibull", "none", "auto"] = Field(
        description="geometric (one decay per period), weibull (shape and scale: may peak after a delay), none, or "
        "auto (the family chosen by held-out error; the simpler one unless the gain is beyond the noise)."
    )
    max_lag: int = Field(
        default=8, ge=1, le=104, description="Periods of the window: this period's spend and the max_lag before it."
    )


class SaturationMeta(_Strict):
    """A spend column's learned saturation: diminishing returns of its carried-over level."""

    kind: Literal["hill", "logistic", "michaelis_menten", "exponential", "none", "auto"] = Field(
        description="hill (half_saturation and slope), logistic, michaelis_menten, exponential (1 - e^(-ln 2 x / "
        "half_saturation); declared only), none, or auto (chosen by held-out error among the others)."
    )


class ColumnMeta(_Strict):
    """A node column's ``meta.ici``: its direct causes (``[]`` for a root), its unit (EUR, sessions) for charts,
    and, for a root spend column, its learned carryover and saturation."""

    parents: NameList = Field(description="The column's direct causes among the node columns; [] for a root.")
    unit: str | None = Field(default=None, description="Its unit (EUR, sessions), for charts and summaries.")
    carryover: CarryoverMeta | None = Field(
        default=None,
        description="Learn the column's carryover from the data (root nodes only); its children see "
        "saturation(carryover(spend)). Table ici.transforms holds the fitted parameters with 95 % intervals.",
    )
    saturation: SaturationMeta | None = Field(
        default=None, description="Learn the column's saturation from the data (root nodes only, spend >= 0)."
    )

    def transforms(self) -> dict[str, Any] | None:
        """The engine's declaration ``{"carryover": {...}, "saturation": {...}}``, or None when neither is set."""
        if self.carryover is None and self.saturation is None:
            return None
        out: dict[str, Any] = {}
        if self.carryover is not None:
            out["carryover"] = {"kind": self.carryover.kind, "max_lag": self.carryover.max_lag}
        if self.saturation is not None:
            out["saturation"] = {"kind": self.saturation.kind}
        return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (``X | None``, ``Annotated[X, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, Annotated):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid keys of the mapping at ``loc`` (a path of field names) inside ``model``."""
    for part in loc:
        field = model.model_fields.get(str(part))
        inner = _models_in(field.annotation) if field is not None else []
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def describe_errors(error: ValidationError, model: type[BaseModel], where: str) -> str:
    """One line per problem: the key's path, what is wrong and, for an unknown key, the closest valid one."""
    unknown, other = [], []
    for err in error.errors():
        loc = tuple(p for p in err["loc"] if not isinstance(p, int))
        path = ".".join([where, *map(str, err["loc"])])
        if err["type"] == "extra_forbidden":
            valid = _keys_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            hint = f" did you mean {close[0]!r}?" if close else ""
            unknown.append(f"unknown key {path!r}:{hint} (valid keys: {', '.join(valid)})")
        elif err["type"] == "missing":
            other.append(f"{path} is required")
        elif err["type"] == "value_error":
            other.append(f"{path} {err['msg'].removeprefix('Value error, ')}")
        else:
            other.append(f"{path}: {err['msg']}, got {err.get('input')!r}")
    return "; ".join(unknown + other)


def parse_meta(
    cls: type[M], raw: Any, *, where: str, defaults: Mapping[str, Any] | None = None
) -> tuple[M | None, str]:
    """(parsed meta, "") or (None, a message naming each bad key) for a raw ``ici`` mapping.

    ``defaults`` (settings given once for every model) are merged under ``raw``, one level deep.
    """
    if not isinstance(raw, Mapping):
        return None, f"{where} must be a mapping, got {raw!r}"
    merged = dict(defaults or {})
    for key, value in raw.items():
        base = merged.get(key)
        merged[key] = {**base, **value} if isinstance(base, Mapping) and isinstance(value, Mapping) else value
    try:
        return cls.model_validate(merged), ""
    except ValidationError as exc:
        return None, describe_errors(exc, cls, where)
