"""Finance's last-click model beside ICI: each node's share of revenue under both, and one sentence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from ici_assets.publish.summaries import fmt
from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import Relation, SumBy, TimeRange, Warehouse

if TYPE_CHECKING:
    import pandas as pd


def last_click_shares(
    warehouse: Warehouse, spec: IciSpec, relation: Relation, period: tuple[str | None, str | None]
) -> dict[str, float]:
    """Each node's percentage of the target credited by last click over ``period`` (inclusive days)."""
    lc = spec.last_click
    if lc is None:
        raise ValueError(f"dbt model '{spec.model}' declares no meta.ici.last_click")
    where: tuple = ()
    start, end = period
    if lc.time_column and start and end:
        where = (TimeRange(lc.time_column, date.fromisoformat(start), date.fromisoformat(end) + timedelta(days=1)),)
    by_channel = warehouse.sum_by(SumBy(relation, lc.channel_column, lc.value_column, where))
    total = float(by_channel["value"].sum())
    credited = by_channel.assign(node=by_channel[lc.channel_column].map(lc.channels)).dropna(subset=["node"])
    by_node = credited.groupby("node")["value"].sum()
    return {str(n): (100.0 * float(v) / total if total else 0.0) for n, v in by_node.items()}


def comparison(shares: pd.DataFrame, last_click: dict[str, float]) -> pd.DataFrame:
    """node, ici_share, share_low, share_high, last_click_share; largest ICI share first."""
    out = shares[["node", "share", "share_low", "share_high"]].rename(columns={"share": "ici_share"})
    out = out.assign(last_click_share=out["node"].map(lambda n: last_click.get(n, 0.0)))
    return out.sort_values("ici_share", ascending=False).reset_index(drop=True)


def interpret(comparison: pd.DataFrame, target: str) -> str:
    """One sentence for the marketing director, generated from the numbers. ICI is a share of the target's
    *variation* and last click a share of the target itself: the sentence names each for what it is."""
    gap = comparison.assign(gap=comparison["ici_share"] - comparison["last_click_share"])
    under = gap.sort_values("gap", ascending=False).iloc[0]
    over = gap.sort_values("gap").iloc[0]
    clicked = comparison[comparison["last_click_share"] > 0]

    def ici(r: pd.Series) -> str:
        return f"{fmt(r['ici_share'], r['share_low'], r['share_high'])} %"

    return (
        f"Last click credits {under['node']} with {under['last_click_share']:.1f} % of {target}, yet it causes "
        f"{ici(under)} of {target}'s variation by itself (intrinsic causal influence); it credits {over['node']} "
        f"with {over['last_click_share']:.1f} % of {target}, which causes {ici(over)} of its variation. The clicked "
        f"channels get {clicked['last_click_share'].sum():.0f} % of {target} under last click and cause "
        f"{clicked['ici_share'].sum():.1f} % of its variation."
    )
