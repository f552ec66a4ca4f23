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

_FONT = "sans-serif"


def share_bar_chart(shares: pd.DataFrame, *, title: str) -> alt.Chart:
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
        tooltip=["node", alt.Tooltip("share:Q", format=".2f"), alt.Tooltip("share_low:Q", format=".2f"),
                 alt.Tooltip("share_high:Q", format=".2f")],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=12).encode(
        y=y, x=alt.X("label_x:Q"), text="label:N"
    )
    layers = [bars, labels]
    if data["share_low"].notna().all() and len(data):
        layers.insert(1, base.mark_rule(color="#333333").encode(y=y, x="share_low:Q", x2="share_high:Q"))
    return alt.layer(*layers).properties(title=title, width=420, height=28 * max(len(data), 1))


def comparison_chart(comparison: pd.DataFrame, *, title: str) -> alt.Chart:
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
        color=alt.Color("model:N", title=None, scale=alt.Scale(range=["#4C78A8", "#F58518"]),
                        legend=alt.Legend(orient="bottom")),
    )
    bars = alt.Chart().mark_bar().encode(**enc)
    text = alt.Chart().mark_text(align="left", dx=3, fontSize=11).encode(
        y=enc["y"], x="share:Q", text="label:N"
    )
    return (
        alt.layer(bars, text, data=long)
        .properties(width=380, height=36)
        .facet(row=alt.Row("node:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .properties(title=title)
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec with its data inlined (self-contained JSON)."""
    return chart.to_dict()


def chart_png(chart: alt.TopLevelMixin, *, scale: float = 1.0) -> bytes:
    """Render a chart to PNG bytes (vl-convert, no browser)."""
    return vlc.vegalite_to_png(chart_spec(chart), scale=scale)


def png_markdown(png: bytes, *, alt_text: str) -> str:
    """Markdown embedding a PNG as a data URI (how Dagster shows an image in metadata)."""
    return f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
