"""Altair charts of ICI shares, rendered to small PNGs for Dagster metadata.

Dagster has no chart metadata type: the PNG goes into ``MetadataValue.md`` as a data URI
and the Vega-Lite spec into ``MetadataValue.json``, so the picture renders in the UI and the
spec can be reopened in any Vega editor.
"""

from __future__ import annotations

import base64
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

from ici_assets.grain import CHART_PERIOD, chart_periods

_FONT = "sans-serif"


def share_bar_chart(shares: pd.DataFrame, *, title: str) -> alt.TopLevelMixin:
    """Horizontal bars of each node's ICI share (percent), largest first, with 95 % intervals."""
    data = shares[["node", "share", "share_low", "share_high"]].copy()
    data["label"] = data["share"].map(lambda s: f"{s:.1f} %")
    data["label_x"] = data[["share", "share_high"]].max(axis=1)  # right of the interval
    order = data.sort_values("share", ascending=False)["node"].tolist()
    y = alt.Y("node:N", sort=order, title=None)
    base = alt.Chart(data)
    bars = base.mark_bar(color="#4C78A8").encode(
        y=y,
        x=alt.X("share:Q", title="Share of revenue variance explained by the node itself (%)"),
        tooltip=[
            "node",
            alt.Tooltip("share:Q", format=".2f"),
            alt.Tooltip("share_low:Q", format=".2f"),
            alt.Tooltip("share_high:Q", format=".2f"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(y=y, x=alt.X("label_x:Q"), text="label:N")
    layers = [bars, labels]
    if data["share_low"].notna().all() and len(data):
        layers.insert(1, base.mark_rule(color="#333333").encode(y=y, x="share_low:Q", x2="share_high:Q"))
    return alt.layer(*layers).properties(title=title, width=420, height=28 * max(len(data), 1))


def comparison_chart(comparison: pd.DataFrame, *, title: str) -> alt.TopLevelMixin:
    """Grouped bars: each node's ICI share next to its last-click revenue share (percent)."""
    long = comparison.melt(
        id_vars="node", value_vars=["ici_share", "last_click_share"], var_name="model", value_name="share"
    )
    long["model"] = long["model"].map({"ici_share": "Intrinsic causal influence", "last_click_share": "Last click"})
    long["label"] = long["share"].map(lambda s: f"{s:.1f} %")
    order = comparison.sort_values("ici_share", ascending=False)["node"].tolist()
    enc = dict(
        y=alt.Y("model:N", title=None, axis=None),
        x=alt.X("share:Q", title="Share of revenue (%)"),
        color=alt.Color(
            "model:N", title=None, scale=alt.Scale(range=["#4C78A8", "#F58518"]), legend=alt.Legend(orient="bottom")
        ),
    )
    bars = alt.Chart().mark_bar().encode(**enc)
    text = alt.Chart().mark_text(align="left", dx=3, fontSize=11).encode(y=enc["y"], x="share:Q", text="label:N")
    return (
        alt.layer(bars, text, data=long)
        .properties(width=380, height=36)
        .facet(row=alt.Row("node:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .properties(title=title)
    )


def contributions_chart(contrib: pd.DataFrame, *, title: str, grain: str = "day") -> alt.TopLevelMixin:
    """Stacked areas of each node's intrinsic contribution to the target per week (daily and weekly
    tables) or per month (monthly tables).

    Contributions are deviations from the average period, so they stack above and below zero.
    """
    per = CHART_PERIOD[grain]
    data = contrib[["period", "node", "contribution"]].copy()
    data[per] = chart_periods(data["period"], grain)
    summed = data.groupby([per, "node"], as_index=False)["contribution"].sum()
    return (
        alt.Chart(summed)
        .mark_area(opacity=0.85)
        .encode(
            x=alt.X(f"{per}:T", title=None),
            y=alt.Y("contribution:Q", stack="zero", title=f"Contribution vs an average {per}"),
            color=alt.Color("node:N", title="node", legend=alt.Legend(orient="bottom", columns=3)),
            tooltip=[f"{per}:T", "node:N", alt.Tooltip("contribution:Q", format=",.0f")],
        )
        .properties(title=title, width=520, height=220)
    )


def shares_over_time_chart(history: pd.DataFrame, *, title: str) -> alt.TopLevelMixin:
    """Each node's share per monthly partition, with its 95 % interval as a band."""
    data = history.copy()
    data["month"] = pd.to_datetime(data["partition_key"])
    base = alt.Chart(data).encode(
        x=alt.X("month:T", title=None, axis=alt.Axis(format="%Y-%m")),
        color=alt.Color("node:N", title="node", legend=alt.Legend(orient="bottom", columns=3)),
    )
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("share_low:Q", title="ICI share (%)"), y2="share_high:Q")
    line = base.mark_line(point=True).encode(
        y="share:Q", tooltip=["partition_key", "node", alt.Tooltip("share:Q", format=".1f")]
    )
    return alt.layer(band, line).properties(title=title, width=520, height=240)


def shares_by_segment_chart(history: pd.DataFrame, *, title: str) -> alt.TopLevelMixin:
    """Heat map of each node's share (percent, labelled) per segment partition."""
    data = history.copy()
    data["label"] = data["share"].map(lambda s: f"{s:.0f}")
    base = alt.Chart(data).encode(x=alt.X("node:N", title=None), y=alt.Y("partition_key:N", title=None))
    rect = base.mark_rect().encode(color=alt.Color("share:Q", title="share %", scale=alt.Scale(scheme="blues")))
    text = base.mark_text(fontSize=10).encode(text="label:N")
    return alt.layer(rect, text).properties(title=title, width=360, height=alt.Step(14))


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec with its data inlined (self-contained JSON)."""
    return chart.to_dict()


def chart_png(chart: alt.TopLevelMixin, *, scale: float = 1.0) -> bytes:
    """Render a chart to PNG bytes (vl-convert, no browser)."""
    return vlc.vegalite_to_png(chart_spec(chart), scale=scale)


def png_markdown(png: bytes, *, alt_text: str) -> str:
    """Markdown embedding a PNG as a data URI (how Dagster shows an image in metadata)."""
    return f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
