"""One model's report as a self-contained HTML page: plain words, 95 % intervals, charts embedded as PNG data URIs.

Nothing is loaded from outside the file (no script, font, style sheet or image by address): it opens offline and
can be sent to someone who never opens Dagster. The page is built from a :class:`ReportData` (the tables the
model's assets published, read back by the report asset); sections without data are left out, except the ones
every model has (the answer, the drivers, the fit, the checks, the glossary).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ici_assets.publish.charts import chart_png, share_bar_chart
from ici_assets.publish.decision_charts import response_chart
from ici_assets.publish.summaries import fmt, with_interval

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

#: Every section a report can hold, in page order: (id, heading).
SECTIONS = (
    ("answer", "The answer in three lines"),
    ("drivers", "What drives the variation in {target}"),
    ("returns", "Incremental {target} and return per channel"),
    ("marginal", "What the next euro earns"),
    ("calibration", "Calibrated to the lift tests"),
    ("fit", "How well the model fits"),
    ("transforms", "Carryover and saturation"),
    ("response", "Response curves"),
    ("budget", "Budget scenarios"),
    ("changes", "Why {target} moved"),
    ("checks", "What the checks said"),
    ("glossary", "Glossary"),
)

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fff}
main{max-width:960px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.6em;margin:0 0 4px} h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #ddd}
p.meta{color:#555;margin:0 0 16px} ol.answer li{margin:4px 0;font-size:1.05em}
table{border-collapse:collapse;margin:8px 0;max-width:100%;font-size:.92em}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f5f5f5}
img{max-width:100%;height:auto;display:block;margin:8px 0} .note{color:#555;font-size:.92em}
dt{font-weight:600;margin-top:8px} dd{margin:2px 0 0 16px} .fail{color:#b00020} .pass{color:#1b7f3a}
"""


@dataclass
class ReportData:
    """What a model's report shows, read from the published tables (None or empty: that section is left out).

    ``shares``: node, share, share_low, share_high. ``returns``: ici.channel_returns rows. ``response``:
    ici.spend_response rows. ``scenarios``: change (fraction of today's total: -0.2 ... 0.2), node, current,
    recommended, expected_uplift, uplift_low, uplift_high, uplift_pct. ``fit``: period (a date), actual, predicted
    (sums per period); ``holdout``: the time split's facts. ``changes``: ici.change_attribution rows of the months
    to show. ``checks``: asset, check, status ('passed', 'failed', 'not run'), description."""

    model: str
    target: str
    unit: str
    grain: str  # 'per region-day'
    period: str  # '2024-01-01 to 2025-12-31'
    n_rows: int
    shares: pd.DataFrame
    fit: pd.DataFrame
    holdout: dict[str, Any]
    checks: list[tuple[str, str, str, str]]
    n_bootstrap: int = 0
    returns: pd.DataFrame | None = None
    response: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    transforms: list[str] = field(default_factory=list)
    calibration: list[str] = field(default_factory=list)  # one sentence per tested node (markdown `code`)
    code_version: str = ""


def e(text: Any) -> str:
    return html.escape(str(text))


def img(chart: alt.TopLevelMixin, alt_text: str) -> str:
    """The chart as an embedded PNG (data URI)."""
    data = base64.b64encode(chart_png(chart)).decode("ascii")
    return f'<img alt="{e(alt_text)}" src="data:image/png;base64,{data}">'


def table_html(head: list[str], rows: list[list[str]], row_ids: list[str] | None = None) -> str:
    """A plain table; ``row_ids`` set each row's data-node (what a test looks rows up by)."""
    out = ["<table><thead><tr>", *(f"<th>{e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        attr = f' data-node="{e(row_ids[i])}"' if row_ids else ""
        out.append(f"<tr{attr}>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return "".join(out) + "</tbody></table>"


def interval(x: Any, low: Any, high: Any, unit: str = "") -> str:
    return e(with_interval(x, low, high, unit))


def answer_lines(d: ReportData) -> list[str]:
    """Three lines: the largest driver of the variation, the best-returning channel, the budget move."""
    drivers = d.shares[d.shares["node"] != d.target].sort_values("share", ascending=False)
    top = drivers.iloc[0]
    lines = [
        f"<b>{e(top['node'])}</b> drives the largest part of the variation in {e(d.target)}: "
        f"{interval(top['share'], top['share_low'], top['share_high'], ' %')} of it, by itself."
    ]
    if d.returns is not None and len(d.returns):
        best = d.returns.sort_values("roi", ascending=False).iloc[0]
        lines.append(
            f"Each {e(d.unit or 'unit')} spent on <b>{e(best['node'])}</b> brought "
            f"{interval(best['roi'], best['roi_low'], best['roi_high'])} {e(d.unit)} of {e(d.target)} "
            "(against spending nothing), the highest return of the channels."
        )
    else:
        lines.append(f"This model has no spend decisions declared: no return per {e(d.unit or 'unit')} is computed.")
    if d.scenarios is not None and len(d.scenarios):
        now = d.scenarios[d.scenarios["change"] == 0]
        first = now.iloc[0]
        moves = ", ".join(
            f"{e(r['node'])} {e(fmt(r['current']))} → {e(fmt(r['recommended']))}" for _, r in now.iterrows()
        )
        lines.append(
            f"At today's total, the best split ({moves} {e(d.unit)} {e(d.grain)}) is expected to add "
            f"{interval(first['expected_uplift'], first['uplift_low'], first['uplift_high'], d.unit)} {e(d.grain)}."
        )
    else:
        r2 = d.holdout.get("holdout_r2")
        lines.append(f"The model predicts held-out periods with R² {r2:.2f}." if r2 is not None else "")
    return lines


def drivers_section(d: ReportData) -> str:
    chart = share_bar_chart(d.shares, title=f"What drives the variation in {d.target}", target=d.target)
    rows = d.shares.sort_values("share", ascending=False)
    return (
        "<p>ICI (intrinsic causal influence) is the share of the variation in "
        f"{e(d.target)} from {e(d.period)} that each node causes by its own movements, not what it passes on from "
        "the nodes upstream of it. It is a share of <em>variation</em> (why one day differs from another), "
        f"not a share of {e(d.target)} itself"
        + (": see the next section for that.</p>" if d.returns is not None and len(d.returns) else ".</p>")
        + img(chart, f"ICI shares of {d.target}")
        + table_html(
            ["node", "share of variation (95 % interval)"],
            [[e(r["node"]), interval(r["share"], r["share_low"], r["share_high"], " %")] for _, r in rows.iterrows()],
            list(rows["node"]),
        )
    )


def scale_of(values: Any) -> tuple[float, str]:
    """(divisor, word) that shows amounts of this size in readable units: millions, thousands or as they are."""
    top = float(max(abs(float(v)) for v in values)) if len(values) else 0.0
    return (1e6, " million") if top >= 1e7 else (1e3, " thousand") if top >= 1e4 else (1.0, "")


def returns_section(d: ReportData) -> str:
    assert d.returns is not None
    rows = d.returns.sort_values("roi", ascending=False)
    div, word = scale_of([*rows["spend"], *rows["incremental_target"]])
    body = [
        [
            e(r["node"]),
            e(f"{r['spend'] / div:,.1f}" if div > 1 else f"{r['spend']:,.0f}"),
            interval(r["incremental_target"] / div, r["incremental_low"] / div, r["incremental_high"] / div),
            interval(r["roi"], r["roi_low"], r["roi_high"]),
            e(f"{r['spend_share']:.1f} %"),
            e(f"{r['contribution_share']:.1f} %"),
        ]
        for _, r in rows.iterrows()
    ]
    u = d.unit
    return (
        f"<p>Incremental {e(d.target)}: what the model expects {e(d.target)} to have been with each channel's "
        f"spend as it was, minus with that channel at zero, summed over {e(d.period)}. ROI (return on investment): "
        f"that amount per {e(u or 'unit')} spent. A channel's share of spend stands beside its share of "
        f"{e(d.target)}.</p>"
        + table_html(
            [
                "channel",
                f"spend ({u}{word})",
                f"incremental {d.target} ({u}{word}, 95 %)",
                f"ROI ({u} per {u}, 95 %)",
                "share of spend",
                f"share of {d.target}",
            ],
            body,
            list(rows["node"]),
        )
        + '<p class="note">Zero spend often lies below the lowest spend observed: the fitted curve is extended '
        "there, and the interval says how well the data pin it down.</p>"
    )


def marginal_section(d: ReportData) -> str:
    assert d.returns is not None
    rows = d.returns.sort_values("marginal_roi", ascending=False)
    body = [
        [e(r["node"]), interval(r["marginal_roi"], r["marginal_roi_low"], r["marginal_roi_high"])]
        for _, r in rows.iterrows()
    ]
    return (
        f"<p>Marginal ROI: what one more {e(d.unit or 'unit')} on a channel, at today's spend, is expected to add to "
        f"{e(d.target)}. Below the average ROI, the channel shows diminishing returns.</p>"
        + table_html(["channel", f"marginal ROI ({d.unit} per {d.unit}, 95 %)"], body, list(rows["node"]))
    )


def fit_chart(fit: pd.DataFrame, target: str, unit: str) -> alt.TopLevelMixin:
    import altair as alt

    long = fit.melt(id_vars="period", value_vars=["actual", "predicted"], var_name="series", value_name="value")
    return (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("period:T", title=None),
            y=alt.Y("value:Q", title=f"{target} ({unit})" if unit else target, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="top")),
            strokeDash=alt.StrokeDash("series:N", legend=None),
        )
        .properties(width=760, height=240, title=f"{target}: actual and predicted by the model, per month")
    )


def fit_section(d: ReportData) -> str:
    h = d.holdout
    mape = h.get("holdout_mape")
    text = (
        f"<p>The model's equation for {e(d.target)}, fitted on every row, against the actual values (summed per "
        f"month). In-sample R² {h['in_sample_r2']:.2f}. Held out: refitted on the first "
        f"{100 * (1 - h['test_fraction']):.0f} % of the periods and scored on the last {100 * h['test_fraction']:.0f} "
        f"%, R² {h['holdout_r2']:.2f}"
        + (f", mean absolute error {mape:.1f} % of {e(d.target)} per row" if mape is not None else "")
        + f" ({h['n_test']:,} rows held out).</p>"
    )
    return text + img(fit_chart(d.fit, d.target, d.unit), f"actual and predicted {d.target}")


def response_section(d: ReportData) -> str:
    assert d.response is not None
    chart = response_chart(
        d.response,
        target=d.target,
        title=f"Expected {d.target} {d.grain} if each spend were set to a level (dashed: today's average)",
        x_title=f"spend {d.grain} ({d.unit})",
        y_title=f"expected {d.target} ({d.unit})",
    )
    return (
        f"<p>Expected {e(d.target)} {e(d.grain)} if a channel's spend were set to each level on every row, the "
        "rest following the model; shaded: 95 % interval.</p>" + img(chart, "response curves")
    )


def budget_section(d: ReportData) -> str:
    assert d.scenarios is not None
    rows = []
    for value, group in d.scenarios.groupby("change", sort=True):
        change, first = float(value), group.iloc[0]  # type: ignore[arg-type]
        split = ", ".join(f"{e(r['node'])} {e(fmt(r['recommended']))}" for _, r in group.iterrows())
        rows.append(
            [
                e(f"{100 * change:+.0f} %") if change else "today's total",
                e(fmt(group["recommended"].sum())),
                split,
                interval(first["expected_uplift"], first["uplift_low"], first["uplift_high"]),
            ]
        )
    return (
        f"<p>The split of the spend total that maximises expected {e(d.target)}, at today's total and at 10 % and "
        f"20 % less or more, each channel kept within its bounds. Change: expected {e(d.target)} {e(d.grain)} against "
        "today's split and total.</p>"
        + table_html(
            ["total", f"spend {d.grain} ({d.unit})", "recommended split", f"expected change in {d.target} (95 %)"],
            rows,
        )
    )


def calibration_section(d: ReportData) -> str:
    code = re.compile(r"`([^`]*)`")
    items = "".join("<li>" + code.sub(r"<code>\1</code>", e(line)) + "</li>" for line in d.calibration)
    return (
        "<p>The model agrees with the team's lift tests: the effect of each tested channel is set so that the lift "
        "it implies matches the measured one, and the rest is fitted to the data given it (least squares alone is "
        "biased where spend follows demand the model does not see). Returns, shares and budgets above are the "
        f"calibrated model's; the uncalibrated ones are in the same tables with <code>calibrated = false</code>.</p>"
        f"<ul>{items}</ul>"
    )


def changes_section(d: ReportData) -> str:
    assert d.changes is not None
    parts = []
    for period, group in d.changes.groupby("period", sort=False):
        first = group.iloc[0]
        parts.append(f"<p><b>{e(str(period)[:7])}</b>: {e(first['sentence'])}</p>")
    return (
        f"<p>The months in which mean {e(d.target)} changed most against the month before, and the nodes the change "
        "is attributed to.</p>" + "".join(parts)
    )


def checks_section(d: ReportData) -> str:
    rows = [
        [e(a), e(c), f'<span class="{"pass" if s == "passed" else "fail"}">{e(s)}</span>', e(desc)]
        for a, c, s, desc in d.checks
    ]
    return "<p>Each asset's checks at its latest run (a failed blocking check stops the results).</p>" + table_html(
        ["asset", "check", "result", "what it tests"], rows
    )


GLOSSARY = (
    ("ICI (intrinsic causal influence)", "the share of the variation in the target a node causes by itself."),
    ("Incremental {target}", "expected {target} with the channel as it was minus with its spend at zero."),
    ("ROI", "incremental {target} per unit of spend (EUR of {target} per EUR)."),
    ("Marginal ROI", "what the next unit of spend adds at today's spend."),
    ("95 % interval", "the range the estimate falls in for 95 % of resamples of the data ({n} resamples)."),
    ("R²", "the part of the target's variation the model's equation reproduces (1: all of it)."),
    ("Held-out error", "the error on later periods of a model fitted on earlier ones only."),
)


def glossary_section(d: ReportData) -> str:
    items = "".join(
        f"<dt>{e(t.format(target=d.target))}</dt><dd>{e(x.format(target=d.target, n=d.n_bootstrap))}</dd>"
        for t, x in GLOSSARY
    )
    return f"<dl>{items}</dl>"


def render_report(d: ReportData) -> str:
    """The whole page (UTF-8 text)."""
    has_returns = d.returns is not None and len(d.returns) > 0
    builders = {
        "answer": lambda: (
            '<ol class="answer">' + "".join(f"<li>{line}</li>" for line in answer_lines(d) if line) + "</ol>"
        ),
        "drivers": lambda: drivers_section(d),
        "returns": (lambda: returns_section(d)) if has_returns else None,
        "marginal": (lambda: marginal_section(d)) if has_returns else None,
        "calibration": (lambda: calibration_section(d)) if d.calibration else None,
        "fit": lambda: fit_section(d),
        "transforms": (lambda: "<ul>" + "".join(f"<li>{e(t)}</li>" for t in d.transforms) + "</ul>")
        if d.transforms
        else None,
        "response": (lambda: response_section(d)) if d.response is not None and len(d.response) else None,
        "budget": (lambda: budget_section(d)) if d.scenarios is not None and len(d.scenarios) else None,
        "changes": (lambda: changes_section(d)) if d.changes is not None and len(d.changes) else None,
        "checks": lambda: checks_section(d),
        "glossary": lambda: glossary_section(d),
    }
    body = []
    for sid, heading in SECTIONS:
        build = builders[sid]
        if build is not None:
            body.append(f'<section id="{sid}"><h2>{e(heading.format(target=d.target))}</h2>{build()}</section>')
    title = f"{d.model}: what drives {d.target}"
    meta = (
        f"{e(d.period)} · {d.n_rows:,} rows ({e(d.grain.removeprefix('per '))}) · numbers with 95 % intervals "
        f"({d.n_bootstrap} resamples) · code version {e(d.code_version[:12])}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body><main>"
        f'<h1>{e(title)}</h1><p class="meta">{meta}</p>' + "".join(body) + "</main></body></html>"
    )


def one_line(d: ReportData) -> str:
    """The report's summary for the asset's metadata: the top driver and the best return."""
    drivers = d.shares[d.shares["node"] != d.target].sort_values("share", ascending=False)
    top = drivers.iloc[0]
    text = f"{top['node']} drives {with_interval(top['share'], top['share_low'], top['share_high'], ' %')} of the "
    text += f"variation in {d.target}"
    if d.returns is not None and len(d.returns):
        best = d.returns.sort_values("roi", ascending=False).iloc[0]
        text += f"; {best['node']} returns {with_interval(best['roi'], best['roi_low'], best['roi_high'])} {d.unit}"
        text += f" per {d.unit}"
    return text + "."


__all__ = ["SECTIONS", "ReportData", "one_line", "render_report"]
