"""Engine decision tables become rows of the ``ici`` decision tables: versions, stamps, one publish each.

Every decision asset replaces its current rows (``ici.spend_response``, ``ici.change_attribution``
per period, ``ici.budget_allocation``) and appends the same rows to the table's ``_history`` twin,
in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ici_assets.publish.rows import ResultKey
from ici_assets.publish.summaries import tidy
from ici_assets.publish.versions import scm_code_version, stable_hash
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import (
    BUDGET_ALLOCATION,
    BUDGET_ALLOCATION_HISTORY,
    CHANGE_ATTRIBUTION,
    CHANGE_ATTRIBUTION_HISTORY,
    CHANNEL_RETURNS,
    CHANNEL_RETURNS_HISTORY,
    SPEND_RESPONSE,
    SPEND_RESPONSE_HISTORY,
    Append,
    Publish,
    Replace,
    TableLayout,
)

if TYPE_CHECKING:
    import pandas as pd


def decision_bootstrap(spec: IciSpec) -> int:
    """Resamples of the decision intervals: the decisions block's n_bootstrap, else the model's."""
    assert spec.decisions is not None
    return spec.decisions.n_bootstrap if spec.decisions.n_bootstrap is not None else spec.n_bootstrap


def decision_code_version(spec: IciSpec, kind: str) -> str:
    """Hash of what changes a decision asset's numbers: the SCM's code version, its part of the decisions
    block, the resamples, the Monte Carlo cap."""
    assert spec.decisions is not None
    block = spec.decisions.model_dump(mode="json")
    relevant = {
        "spend_response": ("spend_nodes", "levels"),  # and the channel returns of the same fit
        "budget": ("spend_nodes", "budget"),
        "change_attribution": ("change_attribution",),
    }[kind]
    payload = {k: block[k] for k in relevant} | {"kind": kind, "n_bootstrap": decision_bootstrap(spec)}
    if kind == "spend_response":
        payload["publishes"] = ["spend_response", "channel_returns"]  # the returns joined the asset's output
    payload["max_samples"] = spec.max_samples  # the Monte Carlo cap: changes the numbers when it binds
    return stable_hash({"scm": scm_code_version(spec), **payload})


def stamp(table: pd.DataFrame, layout: TableLayout, spec: IciSpec, key: ResultKey, data_version: str) -> pd.DataFrame:
    """The engine table's columns that ``layout`` holds, with the asset, model, target, versions and run."""
    extra: dict[str, Any] = {
        "asset_key": key.asset_key,
        "model": spec.model,
        "target": spec.target,
        "code_version": key.code_version,
        "data_version": data_version,
        "materialized_at": datetime.now(UTC),
        "run_id": key.run_id,
    }
    if "calibrated" not in table.columns:  # the least-squares SCM (a model without lift tests)
        extra["calibrated"] = False
    rows = table.reset_index(drop=True).assign(**extra)
    return rows[[c for c in layout.column_names if c in rows.columns]]


def _current_and_history(current: TableLayout, history: TableLayout, rows: pd.DataFrame, key: tuple) -> list[Publish]:
    return [Replace(current, rows, key), Append(history, rows)]


def response_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's response curves; append them to the history."""
    return _current_and_history(SPEND_RESPONSE, SPEND_RESPONSE_HISTORY, rows, ("asset_key",))


def change_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace each period's attribution of the asset; append them to the history."""
    return _current_and_history(CHANGE_ATTRIBUTION, CHANGE_ATTRIBUTION_HISTORY, rows, ("asset_key", "period"))


def budget_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's budget split; append it to the history."""
    return _current_and_history(BUDGET_ALLOCATION, BUDGET_ALLOCATION_HISTORY, rows, ("asset_key",))


def returns_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace the asset's channel returns; append them to the history."""
    return _current_and_history(CHANNEL_RETURNS, CHANNEL_RETURNS_HISTORY, rows, ("asset_key",))


def with_marginal(returns: pd.DataFrame, response: pd.DataFrame) -> pd.DataFrame:
    """The engine's channel returns with each node's marginal ROI at current spend taken from the response curves
    of the same fit (``current_marginal_*``: the same estimate and interval, not recomputed)."""
    current = response.groupby("node", sort=False)[
        ["current_marginal_return", "current_marginal_low", "current_marginal_high"]
    ].first()
    current.columns = ["marginal_roi", "marginal_roi_low", "marginal_roi_high"]
    return returns.merge(current, left_on="node", right_index=True, how="left")


def returns_preview(returns: pd.DataFrame) -> pd.DataFrame:
    """ROI per node as the UI's narrow table shows it: the estimate and its 95 % bounds, 3 significant digits."""
    out = returns.reset_index()[["node", "roi", "roi_low", "roi_high"]].copy()
    for c in ("roi", "roi_low", "roi_high"):
        out[c] = [tidy(float(v), 3) for v in out[c]]
    return out
