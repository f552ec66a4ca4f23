"""The charts the ICI assets attach, on demo-sized data and without a browser: each one read from its Vega-Lite spec,
from the Vega spec it compiles to, or from Vega's own layout (vl-convert's scenegraph).

Sizes: Dagster's metadata dialog shows a PNG at its pixel size and has about 1,060 x 700 px in a 1,400 x 900
window (``charts.DIALOG_PX``); a chart's rendered size comes from :func:`charts.rendered_size`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ici_assets.publish import charts
from ici_assets.publish import decision_charts as dc

#: The demo's marketing shares (percent) and the half-width of their 95 % intervals in one region.
SHARES = {"demand": 29.5, "social_clicks": 27.0, "social_spend": 25.2, "tv_adstock": 18.0}
TINY = {"organic_clicks": 0.171, "revenue": 0.174}
REGIONS = [f"region_{i:02d}" for i in range(1, 21)]
MONTHS = pd.date_range("2024-06-01", "2025-12-01", freq="MS").strftime("%Y-%m-%d").tolist()


def share_history(keys: list[str], half: float, seed: int) -> pd.DataFrame:
    """Every partition's shares of the six demo nodes (as ``ici.ici_shares`` holds them), with some spread."""
    rng = np.random.default_rng(seed)
    rows = []
    for key in keys:
        for node, share in {**SHARES, **TINY}.items():
            s = share * (1 + 0.08 * rng.standard_normal())
            h = half if share > 1 else 0.01
            rows.append((key, node, s, s - h, s + h))
    return pd.DataFrame(rows, columns=["partition_key", "node", "share", "share_low", "share_high"])


def contributions(nodes: list[str]) -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=730, freq="D")
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        [(d, n, float(rng.normal(0, 3000 * (k + 1)))) for d in days for k, n in enumerate(nodes)],
        columns=["period", "node", "contribution"],
    )


def comparison() -> pd.DataFrame:
    rows = [
        ("demand", 29.5, 28.5, 30.6, 0.0),
        ("social_clicks", 27.0, 26.4, 27.7, 62.4),
        ("social_spend", 25.2, 24.4, 26.0, 0.0),
        ("tv_adstock", 18.0, 17.1, 18.7, 0.0),
        ("revenue", 0.174, 0.169, 0.179, 0.0),
        ("organic_clicks", 0.171, 0.166, 0.176, 37.6),
    ]
    return pd.DataFrame(rows, columns=["node", "ici_share", "share_low", "share_high", "last_click_share"])


#: One month of the media demo's change attribution (2025-03, the month the social platform's CTR halves).
ATTRIBUTION = [
    ("social_clicks", "mechanism", -3678.0),
    ("demand", "distribution", 150.3),
    ("revenue", "mechanism", 69.7),
    ("search_clicks", "mechanism", 22.3),
    ("social_spend", "distribution", 20.6),
    ("tv_spend", "distribution", 10.2),
]


def attribution(period: str = "2025-03-01", old: float = 22376.2, scale: float = 1.0) -> pd.DataFrame:
    table = pd.DataFrame(
        [(n, p, c * scale, c * scale - 100, c * scale + 100) for n, p, c in ATTRIBUTION],
        columns=["node", "part", "contribution", "low", "high"],
    )
    change = float(table["contribution"].sum())
    return table.assign(period=pd.Timestamp(period), old_mean=old, new_mean=old + change, observed_change=change)


def months_table() -> pd.DataFrame:
    """23 months; 2025-03 the CTR drop (-15 %), 2025-04 the recovery, the rest small, 2025-12 last and quiet."""
    scales = {"2025-03-01": 1.0, "2025-04-01": -1.1, "2025-07-01": 0.3}
    periods = pd.date_range("2024-02-01", "2025-12-01", freq="MS").strftime("%Y-%m-%d")
    return pd.concat([attribution(p, scale=scales.get(p, 0.03 if p != "2025-12-01" else 0.02)) for p in periods])


def response() -> pd.DataFrame:
    rows = []
    for node, current in (("tv_spend", 5114.0), ("social_spend", 3006.0)):
        for level in np.linspace(1000, 9000, 9):
            y = 19000 + 3000 * np.log1p(level / 2000)
            rows.append((node, level, y, y - 150, y + 150, current))
    return pd.DataFrame(rows, columns=["node", "level", "expected_target", "low", "high", "current_level"])


def budget() -> pd.DataFrame:
    return pd.DataFrame(
        {"node": ["tv_spend", "social_spend"], "current": [5114.0, 3006.0], "recommended": [3560.0, 4560.0]}
    )


#: Every chart the demo's ICI assets attach, built from demo-sized data as the assets build them.
CHARTS = {
    "shares_chart": lambda: charts.share_bar_chart(
        comparison().rename(columns={"ici_share": "share"}),
        title="Intrinsic causal influence on revenue (2024-01-01 to 2025-12-30)",
        target="revenue",
    ),
    "contributions_chart": lambda: charts.contributions_chart(
        contributions(["tv_adstock", "social_clicks", "demand", "social_spend", "organic_clicks", "revenue"]),
        title="Intrinsic contribution to revenue per week (all regions)",
        unit="EUR",
        target="revenue",
    ),
    "ici_vs_last_click_chart": lambda: charts.comparison_chart(
        comparison(),
        title="revenue: intrinsic causal influence vs last click (2024-01-01 to 2025-12-30)",
        target="revenue",
    ),
    "partitions_chart (months)": lambda: charts.shares_over_time_chart(
        share_history(MONTHS, 1.5, 1),
        title="ICI shares of revenue over time (6-month trailing windows)",
        target="revenue",
    ),
    "partitions_chart (regions)": lambda: charts.shares_by_segment_chart(
        share_history(REGIONS, 4.0, 2), title="ICI shares of revenue by region", target="revenue"
    ),
    "waterfall_chart": lambda: dc.waterfall_chart(
        attribution(),
        target="revenue",
        title="revenue: 2025-03 against 2025-02",
        x_title="change of mean revenue per region-day (EUR)",
    ),
    "months_chart": lambda: dc.monthly_change_chart(
        months_table(),
        target="revenue",
        title="Change of mean revenue against the month before, by node",
        y_title="change of mean revenue per region-day (EUR)",
    ),
    "response_chart": lambda: dc.response_chart(
        response(),
        target="revenue",
        title=dc.response_title("revenue", "2024-01-01 to 2025-12-31"),
        x_title="spend per region-day (EUR)",
        y_title="expected revenue per region-day (EUR)",
    ),
    "budget_chart": lambda: dc.budget_chart(
        budget(),
        title="Budget per region-day: expected revenue +976.4 EUR (+4.13 %, 95 % +843.0 to +1,066.0)",
        x_title="spend per region-day (EUR)",
    ),
}


def titles(spec: object) -> list[str]:
    """Every title (chart, subtitle, axis, header) anywhere in a Vega-Lite spec, as text."""
    found: list[str] = []
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("title", "subtitle", "text") and isinstance(value, (str, list)):
                    found += [value] if isinstance(value, str) else [str(v) for v in value]
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def axis_labels(spec: dict) -> list[list[dict]]:
    """The axis label items of each axis as Vega lays them out (text, x, y, angle, font size), from the scenegraph."""
    import vl_convert as vlc

    out: list[list[dict]] = []
    stack = [vlc.vegalite_to_scenegraph(spec)["scenegraph"]]
    while stack:
        node = stack.pop()
        if node.get("role") == "axis-label":
            out.append(node.get("items", []))
            continue
        stack.extend(node.get("items", []) or [])
    return out


def overlapping(labels: list[dict], char_width: float = 0.6) -> list[tuple[str, str]]:
    """Pairs of neighbouring horizontal labels of one axis whose text boxes overlap (width estimated at
    ``char_width`` x the font size per character; multi-line labels by their longest line)."""

    def width(item: dict) -> float:
        text = item["text"] if isinstance(item["text"], list) else [item["text"]]
        return max(len(str(t)) for t in text) * char_width * item.get("fontSize", 11)

    flat = [i for i in labels if not i.get("angle") and i.get("opacity", 1) > 0]
    flat.sort(key=lambda i: i["x"])
    same_row = [(a, b) for a, b in zip(flat, flat[1:]) if a["y"] == b["y"] and a["x"] != b["x"]]
    return [(a["text"], b["text"]) for a, b in same_row if b["x"] - a["x"] < (width(a) + width(b)) / 2]


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_fits_the_metadata_dialog_of_a_1400_x_900_window(name):
    """Width and height: contributions_chart (952 px), ici_vs_last_click_chart (874 px), months_chart (798 px), the
    waterfall (760 px) and the region heat map (734 px) were taller than the dialog's 700 px."""
    size = charts.rendered_size(CHARTS[name]())
    assert charts.fits_dialog(size), (name, size, charts.DIALOG_PX)
    assert size[0] >= 950, (name, size)  # laid out for the dialog's width at 2x, not shrunk to fit


def test_rendered_size_is_the_png_size():
    chart = CHARTS["waterfall_chart"]()
    assert charts.rendered_size(chart) == charts.png_size(charts.chart_png(chart))


def test_a_chart_too_tall_for_the_dialog_is_rendered_smaller_but_whole():
    """A model with many nodes: the PNG is scaled down to fit the dialog rather than clipped by it."""
    many = [f"node_{i:02d}" for i in range(30)]
    chart = charts.contributions_chart(contributions(many), title="C", unit="EUR", target=None)
    assert not charts.fits_dialog(charts.rendered_size(chart))
    assert charts.fits_dialog(charts.png_size(charts.chart_png(chart)))


def test_partitions_chart_over_time_has_one_legend_in_share_order():
    """The band layer's ``legend: null`` dropped the shared colour legend: five lines and nothing naming them."""
    import vl_convert as vlc

    history = share_history(MONTHS, 1.5, 1)
    spec = charts.chart_spec(charts.shares_over_time_chart(history, title="T", target="revenue"))
    legends = vlc.vegalite_to_vega(spec).get("legends", [])
    assert len(legends) == 1, legends  # one legend for colour and dash together
    assert {"stroke", "strokeDash"} <= set(legends[0])
    order = history[history["node"] != "revenue"].groupby("node")["share"].mean().sort_values(ascending=False)
    for layer in spec["layer"]:
        color = layer["encoding"]["color"]
        assert color.get("legend", {}) is not None
        assert color["scale"]["domain"] == order.index.tolist()  # largest share first, the same in every layer
    assert "variance" in spec["layer"][0]["encoding"]["y"]["title"]


def test_region_heat_map_is_sorted_grouped_labelled_with_intervals():
    history = share_history(REGIONS, 4.0, 2)
    spec = charts.chart_spec(charts.shares_by_segment_chart(history, title="T", target="revenue"))
    x = spec["layer"][0]["encoding"]["x"]
    assert x["sort"] == ["demand", "social_clicks", "social_spend", "tv_adstock", "other (< 1 %)"]  # by share
    cells = pd.DataFrame(spec["datasets"][next(iter(spec["datasets"]))])
    assert set(cells["column"]) == set(x["sort"])  # organic_clicks and revenue (0.17 % each) in one column
    assert cells.groupby("column")["share"].max().min() > 0.3  # no column of zeros
    assert cells.loc[cells["column"] == "demand", "label"].str.fullmatch(r"\d+ ±\d").all()  # share ± half interval
    assert "revenue's own noise" in " ".join(spec["title"]["subtitle"])
    assert len(cells) == 5 * len(REGIONS)


def test_region_heat_map_column_labels_do_not_overlap():
    """They ran into each other: 'demandorganic_clicksrevenue...'."""
    spec = charts.chart_spec(charts.shares_by_segment_chart(share_history(REGIONS, 4.0, 2), title="T"))
    axes = axis_labels(spec)
    columns = next(a for a in axes if any("demand" in str(i["text"]) for i in a))
    assert len(columns) == 5
    assert overlapping(columns) == []
    assert [i["text"] for i in columns][1] == ["social", "clicks"]  # a line per word


def test_the_overlap_test_sees_the_old_heat_map_labels_overlap():
    """The check above can fail: six alphabetical one-line labels in 510 px overlap."""
    import altair as alt

    data = share_history(["r1", "r2"], 4.0, 2)
    old = alt.Chart(data).mark_rect().encode(x=alt.X("node:N", axis=alt.Axis(labelAngle=0)), y="partition_key:N")
    spec = charts.chart_spec(
        old.properties(width=charts.DIALOG_WIDTH, autosize={"type": "fit-x", "contains": "padding"})
    )
    columns = next(a for a in axis_labels(spec) if any(i["text"] == "demand" for i in a))
    assert overlapping(columns)


def test_waterfall_starts_at_zero_and_states_the_means():
    """The y axis started at 21,600 under bars drawn from it: the change looked larger than it was."""
    spec = charts.chart_spec(CHARTS["waterfall_chart"]())
    bars = spec["layer"][0]
    x = bars["encoding"]["x"]
    assert x["scale"]["zero"] is True and x["scale"]["domain"][0] <= 0 <= x["scale"]["domain"][1]
    rows = pd.DataFrame(spec["datasets"][next(iter(spec["datasets"]))])
    assert rows["start"].iloc[0] == 0.0  # the first step starts at zero
    assert rows["step"].iloc[-1] == "observed change" and rows["start"].iloc[-1] == 0.0
    assert rows["end"].iloc[-1] == pytest.approx(-3405.0, abs=0.5)
    assert "Mean revenue 22,376 before, 18,971 after (-15.2 %)" in " ".join(spec["title"]["subtitle"])


def test_ici_and_last_click_on_two_panels_each_titled_for_what_it_measures():
    """One axis titled 'Share of revenue (%)' carried both: ICI read as 'TV makes 18 % of revenue'."""
    spec = charts.chart_spec(CHARTS["ici_vs_last_click_chart"]())
    assert len(spec["hconcat"]) == 2
    x_titles = []
    for panel in spec["hconcat"]:
        x = panel["layer"][0]["encoding"]["x"]
        x_titles.append(" ".join(x["title"]) if isinstance(x["title"], list) else x["title"])
    assert x_titles == ["share of revenue's variation (%)", "share of revenue (%)"]
    assert [p["title"]["text"] for p in spec["hconcat"]] == ["Intrinsic causal influence", "Last click"]
    assert not any(t.lower() == "share of revenue (%)" and "variation" not in t for t in titles(spec["hconcat"][0]))


def test_months_summary_names_the_largest_months_of_the_backfill():
    """It described the latest month (2025-12, +0.5 %) while 2025-03 (-15 %) sat under Partitions."""
    text = dc.months_summary(months_table(), target="revenue")
    named = re.findall(r"\*\*(\d{4}-\d{2})\*\*", text)
    assert named == ["2025-04", "2025-03", "2025-07"]  # by the size of the change, in percent of the month before
    assert "**2025-03** -15.2 % (the social_clicks mechanism -16.4 points)" in text
    assert text.startswith("Largest monthly changes of mean revenue (2024-02 to 2025-12")
    assert text.endswith("Latest month, 2025-12: -0.3 %.")


def test_no_jargon_in_chart_titles():
    for name, build in CHARTS.items():
        for title in titles(charts.chart_spec(build())):
            assert "do(" not in title and not re.search(r"\broots?\b", title), (name, title)
