"""One publish path: engine results become rows of the ``ici`` tables, published in one transaction.

Every ICI asset, partitioned or not, builds its rows here and hands a batch to
:meth:`ici_assets.warehouse.Warehouse.publish`: the current shares of each (asset, partition)
are replaced, the same rows are appended to the history, all at once or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ici_assets.publish.versions import SliceFacts
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import CONTRIBUTIONS, SHARES, SHARES_HISTORY, VS_LAST_CLICK, Append, Publish, Replace

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class ResultKey:
    """Which asset (and partition) a result belongs to, and the versions and run behind it."""

    asset_key: str
    code_version: str
    run_id: str
    partition_key: str | None = None
    partition_kind: str | None = None


def _date(value: str | None):
    import pandas as pd

    return pd.Timestamp(value).date() if value else None


def run_columns(facts: SliceFacts, key: ResultKey) -> dict[str, Any]:
    """The columns the per-run ``ici`` tables share: the rows' slice (its row count and period) and the code, data
    version and run behind them."""
    return {
        "n_rows": facts.n_rows,
        "period_start": _date(facts.period_start),
        "period_end": _date(facts.period_end),
        "code_version": key.code_version,
        "data_version": facts.data_version,
        "materialized_at": datetime.now(UTC),
        "run_id": key.run_id,
    }


def shares_rows(
    spec: IciSpec, table: pd.DataFrame, facts: SliceFacts, key: ResultKey, *, calibrated: bool = False
) -> pd.DataFrame:
    """The engine's ICI table as rows of ``ici.ici_shares`` (and its history); ``calibrated``: computed on the SCM
    calibrated to the model's lift tests (false: the least-squares SCM, every model without lift tests)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "asset_key": key.asset_key,
            "model": spec.model,
            "partition_key": key.partition_key,
            "partition_kind": key.partition_kind,
            "node": table["node"].astype(str).to_numpy(),
            "ici": table["ici"].astype(float).to_numpy(),
            "share": table["share"].astype(float).to_numpy(),
            "share_low": table["share_low"].astype(float).to_numpy(),
            "share_high": table["share_high"].astype(float).to_numpy(),
            "code_version": key.code_version,
            "data_version": facts.data_version,
            "materialized_at": datetime.now(UTC),
            "run_id": key.run_id,
            "target": spec.target,
            "mechanism": table["mechanism"].astype(str).to_numpy(),
            "r2": table["r2"].astype(float).to_numpy(),
            "n_rows": facts.n_rows,
            "period_start": _date(facts.period_start),
            "period_end": _date(facts.period_end),
            "calibrated": bool(calibrated),
        }
    )


def primary_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows readers of an ``ici`` table show by default: per asset, the calibrated rows when the asset published
    any (a model calibrated to lift tests publishes its least-squares rows beside them, ``calibrated = false``),
    else all its rows (one asset's rows when the frame has neither ``asset_key`` nor ``model``)."""
    if "calibrated" not in frame.columns or frame.empty:
        return frame
    flag = frame["calibrated"].astype("boolean").fillna(False).astype(bool)
    by = next((c for c in ("asset_key", "model") if c in frame.columns), None)
    if by is None:
        return frame[flag] if flag.any() else frame
    has_calibrated = flag.groupby(frame[by]).transform("any")
    return frame[flag | ~has_calibrated]


def contributions_rows(
    spec: IciSpec, per_row: pd.DataFrame, times: np.ndarray, facts: SliceFacts, key: ResultKey
) -> pd.DataFrame:
    """Each node's intrinsic contribution per period (summed over units), long format."""
    import pandas as pd

    frame = per_row.copy()
    frame["period"] = pd.to_datetime(times).normalize()
    long = (
        frame.groupby("period").sum().reset_index().melt(id_vars="period", var_name="node", value_name="contribution")
    )
    long["period"] = long["period"].dt.date
    long["node"] = long["node"].astype(str)
    return long.assign(
        asset_key=key.asset_key,
        model=spec.model,
        code_version=key.code_version,
        data_version=facts.data_version,
        run_id=key.run_id,
    )


def shares_items(rows: pd.DataFrame, contributions: pd.DataFrame | None = None) -> list[Publish]:
    """Replace the current shares of every (asset, partition) in ``rows``, append them to the history, and
    replace the asset's contributions if given: one batch, published in one transaction."""
    items: list[Publish] = [Replace(SHARES, rows, ("asset_key", "partition_key")), Append(SHARES_HISTORY, rows)]
    if contributions is not None:
        items.append(Replace(CONTRIBUTIONS, contributions, ("asset_key",)))
    return items


def comparison_items(rows: pd.DataFrame) -> list[Publish]:
    """Replace an asset's rows of ``ici.ici_vs_last_click``."""
    return [Replace(VS_LAST_CLICK, rows, ("asset_key",))]
