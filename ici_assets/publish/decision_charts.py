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


def waterfall_chart(table: pd.DataFrame, *, target: str, title: str, y_title: str | None = None) -> alt.TopLevelMixin:
    """From the baseline mean through each node's contribution (largest first) to the new mean."""
    import altair as alt
    import pandas as pd

    old, new = float(table["old_mean"].iloc[0]), float(table["new_mean"].iloc[0])
    steps = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
    rows = [{"step": "baseline", "start": 0.0, "end": old, "kind": "total", "value": old}]
    level = old
    for _, r in steps.iterrows():
        c = float(r["contribution"])
        label = node_label(r["node"], r["part"]).removeprefix("the ")
        rows.append({"step": label, "start": level, "end": level + c, "kind": "up" if c >= 0 else "down", "value": c})
        level += c
    rows.append({"step": "new", "start": 0.0, "end": new, "kind": "total", "value": new})
    data = pd.DataFrame(rows)
    data["label"] = [f"{v:,.1f}" if k == "total" else f"{v:+,.1f}" for v, k in zip(data["value"], data["kind"])]
    lo = min(data[["start", "end"]].where(data["kind"] != "total").min().min(), old, new)
    hi = max(data[["start", "end"]].where(data["kind"] != "total").max().max(), old, new)
    pad = 0.6 * max(hi - lo, 1e-9)
    y = alt.Y(
        "start:Q", title=y_title or f"mean {target} per row", scale=alt.Scale(domain=[lo - pad, hi + pad], clamp=True)
    )
    x = alt.X("step:N", sort=list(data["step"]), title=None, axis=alt.Axis(labelAngle=-30))
    color = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["total", "up", "down"], range=["#9D9D9D", "#54A24B", "#E45756"]),
        legend=None,
    )
    data["top"] = data[["start", "end"]].max(axis=1)
    bars = alt.Chart().mark_bar().encode(x=x, y=y, y2="end:Q", color=color, tooltip=["step", "label"])
    text = alt.Chart().mark_text(dy=-6, fontSize=10).encode(x=x, y="top:Q", text="label:N")
    return alt.layer(bars, text, data=data).properties(
        title=wrap(title, 66),
        width=DIALOG_WIDTH,
        height=260,
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
    x = alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("contribution:Q", stack="zero", title=y_title or f"change of mean {target} per row"),
            color=alt.Color(
                "label:N",
                title=None,
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(orient="bottom", columns=2),
            ),
            tooltip=["month", "label", alt.Tooltip("contribution:Q", format=",.1f")],
        )
    )
    observed = data.drop_duplicates("month")[["month", "observed_change"]]
    ticks = alt.Chart(observed).mark_tick(color="black", thickness=2, size=14).encode(x=x, y="observed_change:Q")
    return alt.layer(bars, ticks).properties(
        title=wrap(title, 66),
        width=DIALOG_WIDTH,
        height=260,
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
