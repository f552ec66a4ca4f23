"""Altair charts of ICI shares, rendered to small PNGs for Dagster metadata.

Dagster has no chart metadata type: the PNG goes into ``MetadataValue.md`` as a data URI
and the Vega-Lite spec into ``MetadataValue.json``, so the picture renders in the UI and the
spec can be reopened in any Vega editor.
"""

from __future__ import annotations

import base64
import io
import textwrap
from typing import TYPE_CHECKING, Any, Literal

from ici_assets.publish.summaries import tidy_value, with_interval
from ici_assets.spec.grain import CHART_PERIOD, chart_periods

if TYPE_CHECKING:
    import altair as alt  # imported by each function: loading the definitions does not need it
    import pandas as pd

#: Rendered at twice the layout size for high-DPI screens.
SCALE = 2.0
#: Layout width of a chart that must fit Dagster's metadata dialog whole, labels and titles included: the dialog
#: shows the PNG at its pixel width (2 x 510 = 1,020 px) and has about 1,060 px of room in a 1,400 px window.
DIALOG_WIDTH = 510
#: Ten hues that stay apart in print and for the common colour-vision deficiencies (Tableau 10).
PALETTE: Literal["tableau10"] = "tableau10"
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3]]
BAR = "#4C78A8"


def wrap(text: str, width: int) -> list[str]:
    """A title as lines of at most ``width`` characters (Vega draws a list as lines; a chart of fixed width
    would clip one long line)."""
    return textwrap.wrap(text, width, break_long_words=False) or [text]


def share_bar_chart(shares: pd.DataFrame, *, title: str, target: str | None = None) -> alt.TopLevelMixin:
    """Horizontal bars of each node's ICI share (percent), largest first, with 95 % interval bars.

    The target's own noise is left out of the bars and stated in the subtitle: it is not a channel."""
    import altair as alt

    data = shares[["node", "share", "share_low", "share_high"]].copy()
    own = data[data["node"] == target]
    data = data[data["node"] != target]
    has_interval = bool(len(data)) and bool(data["share_low"].notna().all())
    data["label"] = [
        with_interval(s, lo, hi, " %", sig=1) if has_interval else f"{s:.1f} %"
        for s, lo, hi in zip(data["share"], data["share_low"], data["share_high"])
    ]
    data["label_x"] = data[["share", "share_high"]].max(axis=1)  # right of the interval
    order = data.sort_values("share", ascending=False)["node"].tolist()
    y = alt.Y("node:N", sort=order, title=None, axis=alt.Axis(labelFontSize=13))
    base = alt.Chart(data)
    x_max = float(data["label_x"].max()) * 1.45 if len(data) else 100.0
    bars = base.mark_bar(color=BAR, height={"band": 0.7}).encode(
        y=y,
        x=alt.X(
            "share:Q",
            title=wrap(f"Share of {target or 'target'} variance explained by the node itself (%)", 48),
            scale=alt.Scale(domain=[min(0.0, float(data["share_low"].min()) if has_interval else 0.0), x_max]),
        ),
        tooltip=[
            "node",
            alt.Tooltip("share:Q", format=".2f"),
            alt.Tooltip("share_low:Q", format=".2f"),
            alt.Tooltip("share_high:Q", format=".2f"),
        ],
    )
    labels = base.mark_text(align="left", dx=8, fontSize=12).encode(y=y, x=alt.X("label_x:Q"), text="label:N")
    layers: list = [bars]
    if has_interval:
        layers += [
            base.mark_rule(color="#111111", strokeWidth=2.5).encode(y=y, x="share_low:Q", x2="share_high:Q"),
            base.mark_tick(color="#111111", thickness=2.5, size=14).encode(y=y, x="share_low:Q"),
            base.mark_tick(color="#111111", thickness=2.5, size=14).encode(y=y, x="share_high:Q"),
        ]
    layers.append(labels)
    subtitle = ["Bars: share; black: 95 % bootstrap interval."]
    if len(own):
        r = own.iloc[0]
        own_share = with_interval(r.share, r.share_low, r.share_high, " %", sig=1)
        subtitle.append(f"Not shown: {target}'s own noise, {own_share}.")
    return alt.layer(*layers).properties(
        title=alt.Title(wrap(title, 66), subtitle=[line for text in subtitle for line in wrap(text, 80)]),
        width=DIALOG_WIDTH,  # the whole chart, labels included: at 2x it fills Dagster's metadata dialog
        height=34 * max(len(data), 1),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def comparison_chart(comparison: pd.DataFrame, *, title: str, target: str = "the target") -> alt.TopLevelMixin:
    """Grouped bars: each node's ICI share next to its last-click revenue share (percent)."""
    import altair as alt

    long = comparison.melt(
        id_vars="node", value_vars=["ici_share", "last_click_share"], var_name="model", value_name="share"
    )
    long["model"] = long["model"].map({"ici_share": "Intrinsic causal influence", "last_click_share": "Last click"})
    long["label"] = long["share"].map(lambda s: f"{s:.1f} %")
    order = comparison.sort_values("ici_share", ascending=False)["node"].tolist()
    enc = dict(
        y=alt.Y("model:N", title=None, axis=None),
        x=alt.X("share:Q", title=f"Share of {target} (%)"),
        color=alt.Color(
            "model:N", title=None, scale=alt.Scale(range=["#4C78A8", "#F58518"]), legend=alt.Legend(orient="bottom")
        ),
    )
    bars = alt.Chart().mark_bar().encode(**enc)
    text = alt.Chart().mark_text(align="left", dx=3, fontSize=11).encode(y=enc["y"], x="share:Q", text="label:N")
    return (
        alt.layer(bars, text, data=long)
        .properties(width=400, height=36)  # with the node headers: about DIALOG_WIDTH in all
        .facet(row=alt.Row("node:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .properties(title=wrap(title, 66))
    )


def time_axis(title: str | None = None) -> alt.Axis:
    """A month axis that stays legible over years: 'Jan 2025' every third month, labels never overlapping."""
    import altair as alt

    return alt.Axis(
        title=title, format="%b %Y", labelAngle=0, tickCount={"interval": "month", "step": 3}, labelOverlap=True
    )


def contributions_chart(
    contrib: pd.DataFrame, *, title: str, unit: str, target: str | None = None, grain: str = "day"
) -> alt.TopLevelMixin:
    """One panel per node: its intrinsic contribution to the target summed per week (daily and weekly tables) or
    per month (monthly tables), in ``unit`` per period, all units of the grain together: a deviation from the
    average period. Panels share the y scale, so sizes compare."""
    import altair as alt

    per = CHART_PERIOD[grain]
    data = contrib.loc[contrib["node"] != target, ["period", "node", "contribution"]].copy()
    data[per] = chart_periods(data["period"], grain)
    summed = data.groupby([per, "node"], as_index=False)["contribution"].sum()
    order = summed.groupby("node")["contribution"].var().sort_values(ascending=False).index.tolist()
    line = (
        alt.Chart()
        .mark_area(line={"strokeWidth": 1.2}, opacity=0.55)
        .encode(
            x=alt.X(f"{per}:T", axis=time_axis()),
            y=alt.Y("contribution:Q", title=f"{unit}/{per}", axis=alt.Axis(format="~s", tickCount=3)),
            color=alt.Color("node:N", sort=order, scale=alt.Scale(scheme=PALETTE), legend=None),
            tooltip=[f"{per}:T", "node:N", alt.Tooltip("contribution:Q", format=",.0f")],
        )
    )
    zero = alt.Chart().mark_rule(color="#666666", strokeWidth=0.8).encode(y=alt.datum(0))
    return (
        alt.layer(line, zero, data=summed)
        .properties(width=370, height=64)  # with the node headers and the y axis: about DIALOG_WIDTH in all
        .facet(row=alt.Row("node:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .properties(
            title=alt.Title(
                wrap(title, 66), subtitle=f"Deviation from the average {per}; target's own noise not shown."
            )
        )
    )


def shares_over_time_chart(history: pd.DataFrame, *, title: str, target: str | None = None) -> alt.TopLevelMixin:
    """Each node's share per monthly partition with its 95 % interval as a band; colour and dash tell nodes apart.
    The target's own noise is left out (stated in the subtitle with its range)."""
    import altair as alt
    import pandas as pd

    data = history.copy()
    data["month"] = pd.to_datetime(data["partition_key"])
    own = data[data["node"] == target]
    data = data[data["node"] != target]
    order = data.groupby("node")["share"].mean().sort_values(ascending=False).index.tolist()
    color = alt.Color(
        "node:N", sort=order, title=None, scale=alt.Scale(scheme=PALETTE), legend=alt.Legend(orient="right")
    )
    base = alt.Chart(data).encode(x=alt.X("month:T", axis=time_axis()), color=color)
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("share_low:Q", title="ICI share (%)"), y2="share_high:Q", color=alt.Color("node:N", legend=None)
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        y="share:Q",
        strokeDash=alt.StrokeDash("node:N", sort=order, scale=alt.Scale(range=DASHES), legend=None),
        tooltip=["partition_key", "node", alt.Tooltip("share:Q", format=".1f")],
    )
    subtitle = "Lines: share; bands: 95 % intervals."
    if len(own):
        low, high = f"{own['share'].min():.1f}", f"{own['share'].max():.1f}"
        subtitle += f" Not shown: {target}'s own noise, {low if low == high else f'{low} to {high}'} %."
    return alt.layer(band, line).properties(
        title=alt.Title(wrap(title, 66), subtitle=wrap(subtitle, 80)),
        width=DIALOG_WIDTH,
        height=260,
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def shares_by_segment_chart(history: pd.DataFrame, *, title: str) -> alt.TopLevelMixin:
    """Heat map of each node's share (percent, labelled) per segment partition."""
    import altair as alt

    data = history.copy()
    data["label"] = data["share"].map(lambda s: f"{s:.0f}")
    base = alt.Chart(data).encode(
        x=alt.X("node:N", title=None, axis=alt.Axis(labelAngle=0)), y=alt.Y("partition_key:N", title=None)
    )
    rect = base.mark_rect().encode(color=alt.Color("share:Q", title="ICI share (%)", scale=alt.Scale(scheme="blues")))
    text = base.mark_text(fontSize=11).encode(
        text="label:N", color=alt.condition("datum.share > 20", alt.value("white"), alt.value("black"))
    )
    return alt.layer(rect, text).properties(
        title=wrap(title, 66),
        width=DIALOG_WIDTH,
        height=alt.Step(16),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec with its data inlined (self-contained JSON), legible fonts, numbers tidied."""
    styled = chart.configure_axis(labelFontSize=12, titleFontSize=12).configure_title(
        fontSize=15, subtitleFontSize=12, anchor="start"
    )
    return tidy_value(styled.configure_legend(labelFontSize=12).to_dict())


def chart_png(chart: alt.TopLevelMixin, *, scale: float = SCALE) -> bytes:
    """Render a chart to PNG bytes (vl-convert, no browser), at twice the layout size by default, in 256 colours
    (a chart has few; the file is about a sixth of the full-colour one, tens of KB)."""
    import vl_convert as vlc
    from PIL import Image

    full = Image.open(io.BytesIO(vlc.vegalite_to_png(chart_spec(chart), scale=scale))).convert("RGB")
    out = io.BytesIO()
    full.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_markdown(png: bytes, *, alt_text: str) -> str:
    """Markdown embedding a PNG as a data URI (how Dagster shows an image in metadata)."""
    return f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
