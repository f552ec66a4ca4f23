"""Altair charts of ICI shares, rendered to small PNGs for Dagster metadata.

Dagster has no chart metadata type: the PNG goes into ``MetadataValue.md`` as a data URI
and the Vega-Lite spec into ``MetadataValue.json``, so the picture renders in the UI and the
spec can be reopened in any Vega editor.
"""

from __future__ import annotations

import base64
import io
import math
import struct
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from ici_assets.publish.summaries import fmt, tidy_value, with_interval
from ici_assets.spec.grain import CHART_PERIOD, chart_periods

if TYPE_CHECKING:
    import altair as alt  # imported by each function: loading the definitions does not need it
    import pandas as pd

#: Rendered at twice the layout size for high-DPI screens.
SCALE = 2.0
#: Dagster's metadata dialog in a 1,400 x 900 window shows a PNG at its pixel size and has about 1,060 x 700 px
#: before it scrolls: every chart PNG fits in this (:func:`rendered_size`, :func:`fits_dialog`).
DIALOG_PX = (1060, 700)
#: Layout width of a chart that fills the dialog's width at :data:`SCALE` (2 x 510 = 1,020 px), labels and titles
#: included.
DIALOG_WIDTH = 510
#: Layout height a chart keeps under, titles, axes and legends included (2 x 345 = 690 px at :data:`SCALE`).
DIALOG_HEIGHT = 345
#: Ten hues that stay apart in print and for the common colour-vision deficiencies (Tableau 10).
PALETTE: Literal["tableau10"] = "tableau10"
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3]]
BAR = "#4C78A8"
#: Nodes whose share stays below this (percent) in every partition are one column of the segment heat map.
TINY_SHARE = 1.0


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
        with_interval(s, lo, hi, " %") if has_interval else f"{s:.1f} %"
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
        own_share = with_interval(r.share, r.share_low, r.share_high, " %")
        subtitle.append(f"Not shown: {target}'s own noise, {own_share}.")
    return alt.layer(*layers).properties(
        title=alt.Title(wrap(title, 66), subtitle=[line for text in subtitle for line in wrap(text, 80)]),
        width=DIALOG_WIDTH,  # the whole chart, labels included: at 2x it fills Dagster's metadata dialog
        height=34 * max(len(data), 1),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def comparison_chart(comparison: pd.DataFrame, *, title: str, target: str = "the target") -> alt.TopLevelMixin:
    """Two panels side by side, one row per node: its ICI share of the target's *variation* (with its 95 %
    interval) and its last-click share of the target itself. Two quantities, so two axes, each titled for
    what it measures; the target's own noise is left out of the rows and stated in the subtitle."""
    import altair as alt

    data = comparison[["node", "ici_share", "share_low", "share_high", "last_click_share"]].copy()
    own = data[data["node"] == target]
    data = data[data["node"] != target]
    has_interval = bool(len(data)) and bool(data["share_low"].notna().all())
    data["ici_label"] = [
        with_interval(s, lo, hi, " %") if has_interval else f"{s:.1f} %"
        for s, lo, hi in zip(data["ici_share"], data["share_low"], data["share_high"])
    ]
    data["last_click_label"] = data["last_click_share"].map(lambda s: f"{s:.1f} %")
    data["ici_label_x"] = data[["ici_share", "share_high"]].max(axis=1)
    order = data.sort_values("ici_share", ascending=False)["node"].tolist()
    y = alt.Y("node:N", sort=order, title=None, axis=alt.Axis(labelFontSize=12))
    base = alt.Chart(data)
    top = float(data["ici_label_x"].max()) if len(data) else 100.0
    ici_layers = [
        base.mark_bar(color="#4C78A8", height={"band": 0.7}).encode(
            y=y,
            x=alt.X(
                "ici_share:Q",
                title=wrap(f"share of {target}'s variation (%)", 34),
                scale=alt.Scale(domain=[0, top * 1.9]),
            ),
        )
    ]
    if has_interval:
        ici_layers.append(
            base.mark_rule(color="#111111", strokeWidth=2).encode(y=y, x="share_low:Q", x2="share_high:Q")
        )
    ici_layers.append(
        base.mark_text(align="left", dx=6, fontSize=11).encode(y=y, x="ici_label_x:Q", text="ici_label:N")
    )
    ici = alt.layer(*ici_layers).properties(
        width=195, height=alt.Step(26), title=alt.Title("Intrinsic causal influence", fontSize=13)
    )
    y_right = alt.Y("node:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False, domain=False))
    top_lc = float(data["last_click_share"].max()) if len(data) else 100.0
    last = alt.layer(
        base.mark_bar(color="#F58518", height={"band": 0.7}).encode(
            y=y_right,
            x=alt.X(
                "last_click_share:Q",
                title=wrap(f"share of {target} (%)", 34),
                scale=alt.Scale(domain=[0, max(top_lc, 1.0) * 1.35]),
            ),
        ),
        base.mark_text(align="left", dx=4, fontSize=11).encode(
            y=y_right, x="last_click_share:Q", text="last_click_label:N"
        ),
    ).properties(width=195, height=alt.Step(26), title=alt.Title("Last click", fontSize=13))
    subtitle = [f"Left: the share of {target}'s variation a node causes by itself; 95 % intervals."]
    subtitle.append(f"Right: the share of {target} finance's last-click model credits to it.")
    if len(own):
        r = own.iloc[0]
        subtitle.append(
            f"Not shown: {target}'s own noise, {with_interval(r.ici_share, r.share_low, r.share_high, ' %')}."
        )
    return alt.hconcat(ici, last, spacing=14).properties(
        title=alt.Title(wrap(title, 66), subtitle=[line for text in subtitle for line in wrap(text, 80)])
    )


def time_axis(title: str | None = None) -> alt.Axis:
    """A month axis that stays legible over years: 'Jan 2025' every third month, labels never overlapping."""
    import altair as alt

    return alt.Axis(
        title=title, format="%b %Y", labelAngle=0, tickCount={"interval": "month", "step": 3}, labelOverlap=True
    )


def symmetric_ticks(values: Iterable[float]) -> list[float]:
    """Three y ticks for a short panel: minus a round step, zero, the step (1, 2 or 5 times a power of ten, the
    largest not beyond the largest deviation), so labels never crowd a panel a few lines tall."""
    peak = max((abs(float(v)) for v in values), default=0.0)
    if not math.isfinite(peak) or peak <= 0:
        return [0.0]
    power = 10.0 ** math.floor(math.log10(peak))
    step = max(m * power for m in (1, 2, 5) if m * power <= peak)
    return [-step, 0.0, step]


def contributions_chart(
    contrib: pd.DataFrame, *, title: str, unit: str, target: str | None = None, grain: str = "day"
) -> alt.TopLevelMixin:
    """One panel per node: its intrinsic contribution to the target summed per week (daily and weekly tables) or
    per month (monthly tables), in ``unit`` per period, all units of the grain together: a deviation from the
    average period. Panels share the y scale, so sizes compare; their heights share :data:`DIALOG_HEIGHT`, so the
    chart fits the metadata dialog whatever the number of nodes (down to a readable minimum)."""
    import altair as alt

    per = CHART_PERIOD[grain]
    data = contrib.loc[contrib["node"] != target, ["period", "node", "contribution"]].copy()
    data[per] = chart_periods(data["period"], grain)
    summed = data.groupby([per, "node"], as_index=False)["contribution"].sum()
    order = summed.groupby("node")["contribution"].var().sort_values(ascending=False).index.tolist()
    spacing = 6
    panel = max(26, min(64, (DIALOG_HEIGHT - 110) // max(len(order), 1) - spacing))
    line = (
        alt.Chart()
        .mark_area(line={"strokeWidth": 1.2}, opacity=0.55)
        .encode(
            x=alt.X(f"{per}:T", axis=time_axis()),
            y=alt.Y(
                "contribution:Q",
                title=None,
                axis=alt.Axis(
                    values=symmetric_ticks(summed["contribution"]),
                    labelExpr="datum.value == 0 ? '0' : format(datum.value, '~s')",
                ),
            ),
            color=alt.Color("node:N", sort=order, scale=alt.Scale(scheme=PALETTE), legend=None),
            tooltip=[f"{per}:T", "node:N", alt.Tooltip("contribution:Q", format=",.0f")],
        )
    )
    zero = alt.Chart().mark_rule(color="#666666", strokeWidth=0.8).encode(y=alt.datum(0))
    return (
        alt.layer(line, zero, data=summed)
        .properties(width=390, height=panel)  # with the node headers and the y axis: about DIALOG_WIDTH in all
        .facet(
            row=alt.Row("node:N", sort=order, title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            spacing=spacing,
        )
        .properties(
            title=alt.Title(
                wrap(title, 66),
                subtitle=f"{unit} per {per}, deviation from the average {per}; target's own noise not shown.",
            )
        )
    )


def node_legend() -> alt.Legend:
    """One legend for every layer that colours (or dashes) by node: a stroke per node."""
    import altair as alt

    return alt.Legend(orient="right", title=None, symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=2.5)


def shares_over_time_chart(history: pd.DataFrame, *, title: str, target: str | None = None) -> alt.TopLevelMixin:
    """Each node's share per monthly partition with its 95 % interval as a band; colour and dash tell nodes apart.
    The target's own noise is left out (stated in the subtitle with its range).

    Colour and dash scales take the same explicit ``domain`` (the nodes, largest mean share first) and every layer
    the same legend: Vega-Lite then draws one legend, in that order, with colour and dash together (a ``sort``
    on the channels, or ``legend: null`` on one layer, would split the legend or drop it)."""
    import altair as alt
    import pandas as pd

    data = history.copy()
    data["month"] = pd.to_datetime(data["partition_key"])
    own = data[data["node"] == target]
    data = data[data["node"] != target]
    order = data.groupby("node")["share"].mean().sort_values(ascending=False).index.tolist()
    legend = node_legend()
    color = alt.Color("node:N", title=None, scale=alt.Scale(domain=order, scheme=PALETTE), legend=legend)
    dash = alt.StrokeDash("node:N", title=None, scale=alt.Scale(domain=order, range=DASHES), legend=legend)
    base = alt.Chart(data).encode(x=alt.X("month:T", axis=time_axis()), color=color)
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("share_low:Q", title=f"ICI: share of {target or 'target'} variance (%)"), y2="share_high:Q"
    )
    line = base.mark_line(point=True, strokeWidth=2).encode(
        y="share:Q",
        strokeDash=dash,
        tooltip=["partition_key", "node", alt.Tooltip("share:Q", format=".1f")],
    )
    subtitle = "Lines: share; bands: 95 % intervals."
    if len(own):
        low, high = f"{own['share'].min():.1f}", f"{own['share'].max():.1f}"
        subtitle += f" Not shown: {target}'s own noise, {low if low == high else f'{low} to {high}'} %."
    return alt.layer(band, line).properties(
        title=alt.Title(wrap(title, 66), subtitle=wrap(subtitle, 80)),
        width=DIALOG_WIDTH,
        height=240,
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def segment_cells(history: pd.DataFrame, tiny: float = TINY_SHARE) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The heat map's cells: one column per node, largest mean share first, and the nodes whose share stays
    below ``tiny`` in every segment summed into one last column 'other (< 1 %)' (no interval: a sum of interval
    bounds is no interval). Returns the cells (segment, column, share, half-width, label), the column order
    and the grouped nodes."""
    import pandas as pd

    data = history[["partition_key", "node", "share", "share_low", "share_high"]].copy()
    peak = data.groupby("node")["share"].max()
    small = sorted(str(n) for n in peak[peak < tiny].index)
    big = data[~data["node"].isin(small)].assign(column=lambda f: f["node"].astype(str))
    big = big.assign(half=(big["share_high"] - big["share_low"]) / 2.0)
    order = big.groupby("column")["share"].mean().sort_values(ascending=False).index.tolist()
    parts = [big[["partition_key", "column", "share", "half", "share_low", "share_high"]]]
    if small:
        other = f"other (< {tiny:g} %)"
        rest = data[data["node"].isin(small)].groupby("partition_key", as_index=False)["share"].sum()
        parts.append(rest.assign(column=other, half=float("nan"), share_low=float("nan"), share_high=float("nan")))
        order.append(other)
    cells = pd.concat(parts, ignore_index=True)
    cells["label"] = [
        f"{s:.1f}" if pd.isna(h) else f"{fmt(s, lo, hi)} ±{fmt(h, lo, hi)}"
        for s, h, lo, hi in zip(cells["share"], cells["half"], cells["share_low"], cells["share_high"])
    ]
    return cells, order, small


def shares_by_segment_chart(
    history: pd.DataFrame, *, title: str, target: str | None = None, tiny: float = TINY_SHARE
) -> alt.TopLevelMixin:
    """Heat map of each node's share (percent) per segment partition, each cell labelled with its share and the
    half-width of its 95 % interval. Columns: nodes by mean share, largest first, with the nodes under ``tiny``
    % everywhere grouped in one last column; column labels broken at underscores, horizontal, so they never
    run into each other; rows as tall as the dialog allows."""
    import altair as alt

    cells, order, small = segment_cells(history, tiny)
    n_rows = max(cells["partition_key"].nunique(), 1)
    row = max(11, min(20, (DIALOG_HEIGHT - 105) // n_rows))
    x = alt.X(
        "column:N",
        sort=order,
        title=None,
        axis=alt.Axis(
            orient="bottom",
            labelAngle=0,
            labelExpr="split(replace(datum.label, ' (', '_('), '_')",  # a line per word: 'social' / 'clicks'
            labelFontSize=11,
        ),
    )
    base = alt.Chart(cells).encode(x=x, y=alt.Y("partition_key:N", title=None, axis=alt.Axis(labelFontSize=10)))
    rect = base.mark_rect().encode(
        color=alt.Color("share:Q", title=None, scale=alt.Scale(scheme="blues", domainMin=0), legend=None),
        tooltip=[
            "partition_key",
            "column",
            alt.Tooltip("share:Q", format=".2f"),
            alt.Tooltip("share_low:Q", format=".2f"),
            alt.Tooltip("share_high:Q", format=".2f"),
        ],
    )
    peak = float(cells["share"].max()) if len(cells) else 0.0
    text = base.mark_text(fontSize=min(11, row - 2)).encode(
        text="label:N",
        color=alt.condition(f"datum.share > {0.6 * peak:.3g}", alt.value("white"), alt.value("black")),
    )
    subtitle = f"Cells: % of {target or 'the target'}'s variance ± half its 95 % interval (darker: larger)."
    if small:
        named = [f"{n}'s own noise" if n == target else n for n in small]
        subtitle += f" other: {', '.join(named)} (summed)."
    return alt.layer(rect, text).properties(
        title=alt.Title(wrap(title, 66), subtitle=wrap(subtitle, 80)),
        width=DIALOG_WIDTH,
        height=alt.Step(row),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def chart_spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec with its data inlined (self-contained JSON), legible fonts, numbers tidied."""
    styled = chart.configure_axis(labelFontSize=12, titleFontSize=12).configure_title(
        fontSize=15, subtitleFontSize=12, anchor="start"
    )
    return tidy_value(styled.configure_legend(labelFontSize=12).to_dict())


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG: no PNG signature and IHDR header in the first 24 bytes")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def rendered_size(chart: alt.TopLevelMixin | dict[str, Any], *, scale: float = SCALE) -> tuple[int, int]:
    """(width, height) in pixels of the chart as :func:`chart_png` renders it at ``scale``: its whole canvas, titles,
    axes and legends included, laid out by Vega itself (vl-convert's scenegraph, no PNG encoded)."""
    import vl_convert as vlc

    spec = chart if isinstance(chart, dict) else chart_spec(chart)
    scene = vlc.vegalite_to_scenegraph(spec)
    return math.ceil(scene["width"] * scale), math.ceil(scene["height"] * scale)


def fits_dialog(size: tuple[int, int]) -> bool:
    """Whether a PNG of ``size`` pixels shows whole in the metadata dialog (:data:`DIALOG_PX`)."""
    return size[0] <= DIALOG_PX[0] and size[1] <= DIALOG_PX[1]


def chart_png(chart: alt.TopLevelMixin, *, scale: float = SCALE) -> bytes:
    """Render a chart to PNG bytes (vl-convert, no browser), at twice the layout size by default, in 256 colours
    (a chart has few; the file is about a sixth of the full-colour one, tens of KB).

    A chart laid out larger than the dialog allows at ``scale`` (a model with many nodes or segments) is rendered
    at the largest scale that fits :data:`DIALOG_PX` instead: smaller, but whole."""
    import vl_convert as vlc
    from PIL import Image

    spec = chart_spec(chart)
    width, height = rendered_size(spec, scale=1.0)
    scale = min(scale, (DIALOG_PX[0] - 1) / max(width, 1), (DIALOG_PX[1] - 1) / max(height, 1))
    full = Image.open(io.BytesIO(vlc.vegalite_to_png(spec, scale=scale))).convert("RGB")
    out = io.BytesIO()
    full.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_markdown(png: bytes, *, alt_text: str) -> str:
    """Markdown embedding a PNG as a data URI (how Dagster shows an image in metadata)."""
    return f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
