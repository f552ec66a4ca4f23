"""Charts and the one generated sentence of the decision assets: response curves, waterfall, budget split.

Rendered like the shares' charts (`charts.chart_png`, `charts.png_markdown`): a 2x PNG in the
metadata. Axis titles carry the units and the grain ('per region-day (EUR)'), given by the assets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ici_assets.publish.charts import DIALOG_WIDTH, wrap

if TYPE_CHECKING:
    import altair as alt  # imported by each function: loading the definitions does not need it
    import pandas as pd


def node_label(node: str, part: str) -> str:
    """How a sentence names a node's contribution: a root's distribution is the node; otherwise its mechanism."""
    return str(node) if part == "distribution" else f"the {node} mechanism"


def change_sentence(table: pd.DataFrame, *, target: str, period: str, baseline: str, top: int = 3) -> str:
    """'Revenue fell 16.2 % in 2025-03 against 2025-02: the social_clicks mechanism -16.5 points, demand +0.4
    point, ...': contributions in points of the baseline mean, largest first (at most `top`, the rest summed)."""
    import numpy as np

    old, change = float(table["old_mean"].iloc[0]), float(table["observed_change"].iloc[0])
    pct = 100.0 * change / old if old else float("nan")
    verb = "rose" if change > 0 else "fell" if change < 0 else "did not move"
    head = f"{target[:1].upper()}{target[1:]} {verb} {abs(pct):.1f} % in {period} against {baseline}"
    points = 100.0 * table["contribution"].to_numpy(dtype=float) / old
    order = np.argsort(-np.abs(points), kind="stable")
    parts = []
    for i in order[:top]:
        p = points[i]
        parts.append(
            f"{node_label(table['node'].iloc[i], table['part'].iloc[i])} {p:+.1f} point{'s' if abs(p) >= 1.05 else ''}"
        )
    rest = points[order[top:]]
    if len(rest):
        parts.append(f"the other {len(rest)} nodes {rest.sum():+.1f} together")
    return f"{head}: {', '.join(parts)}."


def response_title(target: str, period: str) -> str:
    """The response chart's title in plain words: what E[target | do(spend = level)] means to a reader."""
    return f"Expected {target} if each spend were set to a level ({period})"


def response_chart(
    table: pd.DataFrame, *, target: str, title: str, x_title: str = "spend level", y_title: str | None = None
) -> alt.TopLevelMixin:
    """Expected target per spend level with its 95 % band, one panel per node, the current level marked (dashed).

    ``x_title``/``y_title`` carry the units and the grain ('spend per region-day (EUR)')."""
    import altair as alt

    data = table[["node", "level", "expected_target", "low", "high", "current_level"]].copy()
    base = alt.Chart(data).encode(x=alt.X("level:Q", title=x_title, axis=alt.Axis(format="~s")))
    band = base.mark_area(opacity=0.25, color="#4C78A8").encode(
        y=alt.Y("low:Q", title=y_title or f"expected {target}", scale=alt.Scale(zero=False)), y2="high:Q"
    )
    line = base.mark_line(point=True, color="#4C78A8").encode(
        y="expected_target:Q",
        tooltip=["node", alt.Tooltip("level:Q", format=",.1f"), alt.Tooltip("expected_target:Q", format=",.1f")],
    )
    now = alt.Chart(data).mark_rule(color="#F58518", strokeDash=[4, 3]).encode(x="mean(current_level):Q")
    layers = [line, now] if data["low"].isna().all() else [band, line, now]
    return (
        alt.layer(*layers)
        .properties(width=180, height=180)  # two panels a row: about DIALOG_WIDTH in all
        .facet(facet=alt.Facet("node:N", title=None, header=alt.Header(labelFontSize=13)), columns=2)
        .resolve_scale(x="independent", y="independent")
        .properties(title=wrap(title, 66))
    )


def waterfall_chart(table: pd.DataFrame, *, target: str, title: str, x_title: str | None = None) -> alt.TopLevelMixin:
    """The change of the mean as a waterfall that starts at zero: one row per node's contribution (largest first),
    each bar from the running total before it to the one after, then the observed change as a bar from zero. The
    two means are stated in the subtitle, not drawn: bars of 22,000 and 19,000 on an axis cut at 16,000 would
    exaggerate the change, and on an axis from zero they would hide it."""
    import altair as alt
    import pandas as pd

    old, new = float(table["old_mean"].iloc[0]), float(table["new_mean"].iloc[0])
    steps = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
    rows = []
    level = 0.0
    for _, r in steps.iterrows():
        c = float(r["contribution"])
        label = node_label(r["node"], r["part"]).removeprefix("the ")
        rows.append({"step": label, "start": level, "end": level + c, "kind": "up" if c >= 0 else "down", "value": c})
        level += c
    rows.append({"step": "observed change", "start": 0.0, "end": new - old, "kind": "total", "value": new - old})
    data = pd.DataFrame(rows)
    data["label"] = [f"{v:+,.0f}" if abs(v) >= 10 else f"{v:+,.1f}" for v in data["value"]]
    data["label_x"] = data[["start", "end"]].max(axis=1)
    pct = 100.0 * (new - old) / old if old else float("nan")
    y = alt.Y("step:N", sort=list(data["step"]), title=None, axis=alt.Axis(labelFontSize=12, labelLimit=220))
    x_max = float(data[["start", "end"]].max().max())
    x_min = float(data[["start", "end"]].min().min())
    pad = 0.25 * max(x_max - x_min, 1e-9)
    x = alt.X(
        "start:Q",
        title=x_title or f"change of mean {target}",
        scale=alt.Scale(domain=[min(x_min, 0.0) - 0.05 * pad, max(x_max, 0.0) + pad], zero=True),
        axis=alt.Axis(format="~s", tickCount=6, labelOverlap=True),
    )
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["total", "up", "down"], range=["#9D9D9D", "#54A24B", "#E45756"]),
        legend=None,
    )
    bars = (
        alt.Chart().mark_bar(height={"band": 0.7}).encode(y=y, x=x, x2="end:Q", color=color, tooltip=["step", "label"])
    )
    text = alt.Chart().mark_text(align="left", dx=4, fontSize=11).encode(y=y, x="label_x:Q", text="label:N")
    zero = alt.Chart().mark_rule(color="#333333", strokeWidth=1).encode(x=alt.datum(0))
    subtitle = (
        f"Mean {target} {old:,.0f} before, {new:,.0f} after ({pct:+.1f} %); bars: each node's part of the change, "
        "from zero; grey: the observed change."
    )
    return alt.layer(bars, text, zero, data=data).properties(
        title=alt.Title(wrap(title, 66), subtitle=wrap(subtitle, 80)),
        width=DIALOG_WIDTH,
        height=alt.Step(24),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def budget_chart(table: pd.DataFrame, *, title: str, x_title: str = "spend per row") -> alt.TopLevelMixin:
    """Current vs recommended allocation per spend node (grouped bars, bounds as ticks)."""
    import altair as alt

    long = table.melt(id_vars="node", value_vars=["current", "recommended"], var_name="allocation", value_name="spend")
    long["label"] = long["spend"].map(lambda v: f"{v:,.1f}")
    y = alt.Y("allocation:N", title=None, axis=None)
    enc = dict(
        y=y,
        x=alt.X("spend:Q", title=x_title),
        color=alt.Color(
            "allocation:N",
            title=None,
            scale=alt.Scale(range=["#9D9D9D", "#4C78A8"]),
            legend=alt.Legend(orient="bottom"),
        ),
    )
    bars = alt.Chart().mark_bar().encode(**enc)
    text = alt.Chart().mark_text(align="left", dx=3, fontSize=11).encode(y=y, x="spend:Q", text="label:N")
    return (
        alt.layer(bars, text, data=long)
        .properties(width=350, height=40)  # with the node headers: about DIALOG_WIDTH in all
        .facet(row=alt.Row("node:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")))
        .properties(title=wrap(title, 66))
    )


def monthly_change_chart(
    current: pd.DataFrame, *, target: str, title: str, y_title: str | None = None
) -> alt.TopLevelMixin:
    """Each month's contributions stacked (above and below zero) with the observed change as a black tick."""
    import altair as alt
    import pandas as pd

    data = current.copy()
    data["month"] = pd.to_datetime(data["period"]).dt.strftime("%Y-%m")
    data["label"] = [node_label(n, p).removeprefix("the ") for n, p in zip(data["node"], data["part"])]
    x = alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-60, labelFontSize=10))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "contribution:Q",
                stack="zero",
                title=wrap(y_title or f"change of mean {target} per row", 30),
                axis=alt.Axis(format="~s"),
            ),
            color=alt.Color(
                "label:N",
                title=None,
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom", columns=3, labelLimit=170),
            ),
            tooltip=["month", "label", alt.Tooltip("contribution:Q", format=",.1f")],
        )
    )
    observed = data.drop_duplicates("month")[["month", "observed_change"]]
    ticks = alt.Chart(observed).mark_tick(color="black", thickness=2, size=10).encode(x=x, y="observed_change:Q")
    return alt.layer(bars, ticks).properties(
        title=alt.Title(wrap(title, 66), subtitle="Bars: each node's part of the change; black tick: observed change."),
        width=DIALOG_WIDTH,
        height=190,
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )


def months_summary(current: pd.DataFrame, *, target: str, top: int = 3) -> str:
    """Markdown: the ``top`` months of the backfill whose mean target moved most (percent of the month before),
    each with its largest contribution, then the latest month: the answer of a monthly change attribution is
    which months moved and why, not only the last one.

    ``current`` has one row per month and node: period, node, part, contribution, observed_change, old_mean."""
    import pandas as pd

    data = current.assign(month=pd.to_datetime(current["period"]).dt.strftime("%Y-%m"))
    first = data.drop_duplicates("month")
    old = {str(m): float(v) for m, v in zip(first["month"], first["old_mean"])}
    pct = {str(m): 100.0 * float(c) / old[str(m)] for m, c in zip(first["month"], first["observed_change"])}
    ranked = sorted(pct, key=lambda m: -abs(pct[m]))  # stable: the earlier month first on ties
    parts = []
    for month in ranked[:top]:
        rows = data[data["month"] == month].to_dict("records")
        biggest = max(rows, key=lambda r: abs(float(r["contribution"])))
        points = 100.0 * float(biggest["contribution"]) / old[month]
        what = node_label(str(biggest["node"]), str(biggest["part"]))
        parts.append(f"**{month}** {pct[month]:+.1f} % ({what} {points:+.1f} points)")
    latest = max(pct)
    text = (
        f"Largest monthly changes of mean {target} ({min(pct)} to {latest}, each against the month before): "
        + ", ".join(parts)
    )
    return text + f". Latest month, {latest}: {pct[latest]:+.1f} %."
