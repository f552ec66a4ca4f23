"""Table layouts, declared once and dialect-neutral: every implementation renders them in its own SQL.

A layout names a table (schema + name), its columns and each column's logical type, written
``"name type [not null], ..."``. The ``ici`` tables the plugin writes are declared here; the demo
declares its raw tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from ici_assets.warehouse.requests import Relation, check_identifier


class ColumnType(Enum):
    """Logical column types; each warehouse maps them to its own (e.g. TEXT -> VARCHAR in DuckDB)."""

    TEXT = "text"
    FLOAT = "float"  # 64-bit IEEE
    INTEGER = "integer"  # 64-bit
    DATE = "date"
    TIMESTAMP = "timestamp"  # without time zone
    TIMESTAMPTZ = "timestamptz"
    MONEY = "money"  # exact decimal with 2 places, 12 digits
    BOOLEAN = "boolean"


class Column(NamedTuple):
    name: str
    type: ColumnType
    nullable: bool = True


@dataclass(frozen=True)
class TableLayout:
    """A table: where it lives and its columns, in order."""

    relation: Relation
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        for c in self.columns:
            check_identifier(c.name, f"column of {self.relation}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class ViewLayout:
    """A view selecting renamed columns of one table, filtered on one column's constant value."""

    relation: Relation
    source: TableLayout
    columns: tuple[tuple[str, str], ...]  # (source column, name in the view)
    where_equals: tuple[str, str] | None = None  # (source column, constant text value)

    def __post_init__(self) -> None:
        for source, alias in self.columns:
            check_identifier(source, "view source column")
            check_identifier(alias, "view column")


def table(schema: str, name: str, columns: str) -> TableLayout:
    """A layout from ``"name type [not null], ..."`` with the types of :class:`ColumnType` (lower case)."""
    parsed = []
    for item in columns.split(","):
        words = item.split()
        if len(words) not in (2, 4) or (len(words) == 4 and words[2:] != ["not", "null"]):
            raise ValueError(f"column spec {item.strip()!r} of {schema}.{name}: use 'name type [not null]'")
        parsed.append(Column(words[0], ColumnType(words[1]), nullable=len(words) == 2))
    return TableLayout(Relation(schema, name), tuple(parsed))


ICI_SCHEMA = "ici"
#: Nullable columns added to the ``ici`` tables after their first release: a publish adds them to an older table
#: (``ALTER TABLE ... ADD COLUMN IF NOT EXISTS``) instead of failing on it. ``calibrated``: the row comes from the
#: SCM calibrated to the model's lift tests (true) or from the plain least-squares fit (false).
#: ``transform_identified`` (spend response, channel returns, budget): whether the data identify the node's learned
#: carryover and saturation (false: the decision extrapolates a flagged fit; null: the node has no learned ones).
ADDED_COLUMNS = frozenset({"calibrated", "transform_identified"})
_SHARES_COLUMNS = """
    asset_key text not null, model text not null, partition_key text, partition_kind text, node text not null,
    ici float not null, share float not null, share_low float, share_high float, code_version text not null,
    data_version text not null, materialized_at timestamptz not null, run_id text, target text not null,
    mechanism text, r2 float, n_rows integer, period_start date, period_end date, calibrated boolean
"""
#: Current shares: one set of rows per (asset_key, partition_key), replaced on every publish.
SHARES = table(ICI_SCHEMA, "ici_shares", _SHARES_COLUMNS)
#: Every set of shares ever published (append-only), same columns.
SHARES_HISTORY = table(ICI_SCHEMA, "ici_shares_history", _SHARES_COLUMNS)
#: Each node's intrinsic contribution to the target per period, for the whole-period asset.
CONTRIBUTIONS = table(
    ICI_SCHEMA,
    "ici_contributions",
    """asset_key text not null, model text not null, period date not null, node text not null,
    contribution float not null, code_version text not null, data_version text not null, run_id text""",
)
#: ICI shares beside last-click shares of the same period.
VS_LAST_CLICK = table(
    ICI_SCHEMA,
    "ici_vs_last_click",
    """asset_key text not null, model text not null, target text not null, node text not null,
    ici_share float not null, share_low float, share_high float, last_click_share float not null,
    period_start date, period_end date, run_id text, materialized_at timestamptz not null""",
)
#: The monthly time series: one row per node per monthly partition.
SHARES_OVER_TIME = ViewLayout(
    Relation(ICI_SCHEMA, "ici_shares_over_time"),
    SHARES,
    tuple(
        (c, "month" if c == "partition_key" else c)
        for c in "model asset_key partition_key period_start period_end node share share_low share_high "
        "data_version code_version materialized_at".split()
    ),
    where_equals=("partition_kind", "month"),
)
_RUN = "code_version text not null, data_version text not null, materialized_at timestamptz not null, run_id text"
_RESPONSE_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, node text not null, level float not null,
    expected_target float not null, low float, high float, mc_se float, marginal_return float,
    incremental_return float, extrapolated boolean, current_level float,
    current_marginal_return float, current_marginal_low float, current_marginal_high float, method text, {_RUN},
    calibrated boolean, transform_identified boolean
"""
#: E[target | do(node = level)] per spend node and level, with marginal returns: current rows per asset.
SPEND_RESPONSE = table(ICI_SCHEMA, "spend_response", _RESPONSE_COLUMNS)
SPEND_RESPONSE_HISTORY = table(ICI_SCHEMA, "spend_response_history", _RESPONSE_COLUMNS)
_CHANGE_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, period date not null,
    baseline_period date not null, node text not null, part text not null, contribution float not null,
    low float, high float, mc_se float, share_of_change float, mechanism text, observed_change float not null,
    old_mean float, new_mean float, method text, sentence text, {_RUN}
"""
#: Each month's change in the target's mean against the month before, split over the nodes.
CHANGE_ATTRIBUTION = table(ICI_SCHEMA, "change_attribution", _CHANGE_COLUMNS)
CHANGE_ATTRIBUTION_HISTORY = table(ICI_SCHEMA, "change_attribution_history", _CHANGE_COLUMNS)
_BUDGET_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, node text not null, total float not null,
    current float not null, recommended float not null, change float, lower_bound float, upper_bound float,
    at_bound boolean, binding text, max_change float, fixed boolean, target_marginal_return float,
    marginal_return_current float, marginal_return_recommended float, expected_current float,
    expected_recommended float, expected_uplift float, uplift_low float, uplift_high float, uplift_pct float,
    no_diminishing_returns boolean, note text, {_RUN}, calibrated boolean, transform_identified boolean
"""
#: The recommended split of a total over the spend nodes beside the current one.
BUDGET_ALLOCATION = table(ICI_SCHEMA, "budget_allocation", _BUDGET_COLUMNS)
BUDGET_ALLOCATION_HISTORY = table(ICI_SCHEMA, "budget_allocation_history", _BUDGET_COLUMNS)
_ANOMALY_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, period date not null, unit text not null,
    node text not null, contribution float not null, mc_se float, points float, rank integer not null,
    deviation float not null, expected float not null, observed float not null, score float not null,
    flagged boolean not null,
    mechanism text, method text, sentence text, {_RUN}
"""
#: The latest unit-periods' deviation of the target from expectation, split over the nodes: current rows per asset.
ANOMALIES = table(ICI_SCHEMA, "anomalies", _ANOMALY_COLUMNS)
ANOMALIES_HISTORY = table(ICI_SCHEMA, "anomalies_history", _ANOMALY_COLUMNS)
_RETURNS_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, node text not null, spend float not null,
    incremental_target float not null, incremental_low float, incremental_high float, roi float not null,
    roi_low float, roi_high float, marginal_roi float, marginal_roi_low float, marginal_roi_high float,
    spend_share float, contribution_share float, mc_se float, method text, {_RUN}, calibrated boolean,
    transform_identified boolean
"""
#: Per spend node: incremental target against zero spend over the period, ROI and marginal ROI with intervals.
CHANNEL_RETURNS = table(ICI_SCHEMA, "channel_returns", _RETURNS_COLUMNS)
CHANNEL_RETURNS_HISTORY = table(ICI_SCHEMA, "channel_returns_history", _RETURNS_COLUMNS)
_TRANSFORM_COLUMNS = f"""
    asset_key text not null, model text not null, node text not null, transform text not null, family text not null,
    parameter text, value float, low float, high float, identified boolean not null, unit text, max_lag integer,
    note text, n_rows integer, period_start date, period_end date, {_RUN}
"""
#: Learned carryover and saturation of spend nodes: one row per parameter (a family without parameters: one row
#: with no parameter), value with its 95 % interval (null: unbounded); current rows per SCM asset.
TRANSFORMS = table(ICI_SCHEMA, "transforms", _TRANSFORM_COLUMNS)
TRANSFORMS_HISTORY = table(ICI_SCHEMA, "transforms_history", _TRANSFORM_COLUMNS)
_SENSITIVITY_COLUMNS = f"""
    asset_key text not null, model text not null, target text not null, node text not null, child text not null,
    mechanism text not null, estimate float, se float, t float, dof integer, partial_r2 float, robustness_value float,
    robustness_value_interval float, robustness_value_half float, robustness_value_width float,
    method text, available boolean not null, reason text, sentence text, n_rows integer, period_start date,
    period_end date, {_RUN}
"""
#: Per edge out of a spend node: the strength (partial R^2 with both ends) a hidden confounder needs to move the
#: effect to zero, its interval to zero, by half and by its interval's width (method linear, or average_slope for a
#: nonlinear child); null with a reason when not available.
SENSITIVITY = table(ICI_SCHEMA, "sensitivity", _SENSITIVITY_COLUMNS)
SENSITIVITY_HISTORY = table(ICI_SCHEMA, "sensitivity_history", _SENSITIVITY_COLUMNS)
DECISION_TABLES = (
    SPEND_RESPONSE,
    SPEND_RESPONSE_HISTORY,
    CHANNEL_RETURNS,
    CHANNEL_RETURNS_HISTORY,
    CHANGE_ATTRIBUTION,
    CHANGE_ATTRIBUTION_HISTORY,
    BUDGET_ALLOCATION,
    BUDGET_ALLOCATION_HISTORY,
    ANOMALIES,
    ANOMALIES_HISTORY,
)
ICI_TABLES = (
    SHARES,
    SHARES_HISTORY,
    CONTRIBUTIONS,
    VS_LAST_CLICK,
    TRANSFORMS,
    TRANSFORMS_HISTORY,
    SENSITIVITY,
    SENSITIVITY_HISTORY,
    *DECISION_TABLES,
)
ICI_VIEWS = (SHARES_OVER_TIME,)
