"""The reports and the partitions chart as a person sees them, in headless Chromium.

Each demo model's report is opened from its file at 1,280 px, as ``make demo`` leaves it (after the backfill, so
"why revenue moved" is there): no request may leave the file while it loads (every request is recorded;
anything but the file itself and its data URIs is aborted and fails the test), nothing scrolls sideways, every
section the model's results call for is there, and the ROI and share numbers on the page are the ones in
ici.channel_returns. A full-page screenshot and one per section go to ``test-artifacts/``.

The monthly shares' ``partitions_chart`` is drawn by Vega from the spec stored beside its PNG: Chromium shows
the SVG Vega renders from that spec, with one legend naming every line in share order.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.e2e.test_e2e import metadata_of
from tests.e2e.test_ui_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
#: The sections each demo model's results call for (``transforms`` is added where the model learns any).
SECTIONS = {
    "media_nodes": [
        "answer",
        "drivers",
        "returns",
        "marginal",
        "fit",
        "response",
        "budget",
        "changes",
        "checks",
        "glossary",
    ],
    "marketing_nodes": ["answer", "drivers", "fit", "checks", "glossary"],
    "weekly_nodes": [
        "answer",
        "drivers",
        "returns",
        "marginal",
        "calibration",
        "fit",
        "response",
        "checks",
        "glossary",
    ],
}


def expected_sections(con: duckdb.DuckDBPyConnection, model: str) -> list[str]:
    sections = list(SECTIONS[model])
    learned = (
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ici' AND table_name = 'transforms'"
        ).fetchone()[0]
        and con.execute("SELECT count(*) FROM ici.transforms WHERE model = ?", [model]).fetchone()[0]
    )
    if learned:
        sections.insert(sections.index("fit") + 1, "transforms")
    return sections


def first_number(text: str) -> float:
    return float(re.match(r"\s*(-?[\d,]*\.?\d+)", text).group(1).replace(",", ""))


def decimals(text: str) -> int:
    head = text.split(" ")[0]
    return len(head.split(".")[1]) if "." in head else 0


def section_screenshots(page, model: str, sections: list[str]) -> list[Path]:
    """An element screenshot of each report section (``report_<model>_<section>.png``): one image per part to
    look at, as a reader scrolls to it."""
    shots = []
    for section in sections:
        target = ARTIFACTS / f"report_{model}_{section}.png"
        target.unlink(missing_ok=True)  # a file left by an earlier run must not pass for this one
        element = page.locator(f"section#{section}")
        element.wait_for(state="visible", timeout=30_000)
        element.screenshot(path=str(target), timeout=30_000)
        shots.append(target)
    return shots


def chromium():
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make browser`")
    return sync_playwright()


@pytest.mark.parametrize("model", sorted(SECTIONS))
def test_report_offline_in_chromium(backfill_reports, model: str) -> None:
    path = Path(metadata_of(backfill_reports["reports"], dg.AssetKey(["ici", model, "report"]))["path"].value)
    with duckdb.connect(str(backfill_reports["warehouse"]), read_only=True) as con:
        returns = con.execute("SELECT * FROM ici.channel_returns WHERE model = ?", [model]).df()
        if returns["calibrated"].any():  # a model calibrated to lift tests: the page shows the calibrated rows
            returns = returns[returns["calibrated"]]
        sections = expected_sections(con, model)
    assert (len(returns) > 0) == ("returns" in sections), returns
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    outside: list[str] = []

    def route(r) -> None:
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    with chromium() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            page.on("request", lambda req: requests.append(req.url))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            assert outside == [] and all(u.startswith(("file:", "data:")) for u in requests), requests
            scroll = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert scroll[0] <= scroll[1], f"the page scrolls sideways: {scroll}"
            ids = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
            assert ids == sections
            for section in sections:
                assert page.locator(f"#{section} h2").is_visible()
            widths = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.clientWidth])")
            assert len(widths) >= 1 and all(n > 0 and 0 < c <= 960 for n, c in widths)  # decoded, within the column
            for r in returns.itertuples():
                row = page.locator(f'#returns tr[data-node="{r.node}"] td').all_inner_texts()
                roi = row[3]
                assert first_number(roi) == pytest.approx(r.roi, abs=0.51 * 10 ** -decimals(roi))
                assert first_number(row[4]) == pytest.approx(r.spend_share, abs=0.051)
                assert first_number(row[5]) == pytest.approx(r.contribution_share, abs=0.051)
                marginal = page.locator(f'#marginal tr[data-node="{r.node}"] td').all_inner_texts()[1]
                assert first_number(marginal) == pytest.approx(r.marginal_roi, abs=0.51 * 10 ** -decimals(marginal))
            answer = page.locator("#answer li").all_inner_texts()
            assert len(answer) >= 2 and "ROI" not in answer[0], answer
            if "changes" in sections:  # the months the backfill published, each with its attribution
                assert len(page.locator("#changes p b").all_inner_texts()) == 3
            page.screenshot(path=str(ARTIFACTS / f"report_{model}.png"), full_page=True)
            shots = section_screenshots(page, model, sections)
            print("report section screenshots:", *map(str, shots), sep="\n  ")
            assert [p.name for p in shots] == [f"report_{model}_{s}.png" for s in sections]
            assert all(p.stat().st_size > 0 for p in shots), [(p, p.stat().st_size) for p in shots]
        finally:
            browser.close()


def test_partitions_chart_legend_in_chromium(demo_backfill) -> None:
    """The monthly shares' run chart as Vega draws it from its stored spec: ONE legend (its band layer once set
    ``legend: null`` and the lines lost theirs), naming every node drawn, largest mean share first, each label
    visible inside the chart; the PNG the UI shows is decoded at the size the spec lays out."""
    import vl_convert as vlc

    from ici_assets.publish.charts import png_size

    key = dg.AssetKey(["ici", "marketing_nodes", "shares_by_month"])
    _, result = next(
        v for k, v in demo_backfill["runs"].items() if k.startswith("ici__marketing_nodes__shares_by_month")
    )
    metadata = next(
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.asset_key == key and "partitions_chart" in e.materialization.metadata
    )
    spec = metadata["partitions_chart_spec"].value
    rows = [r for values in spec["datasets"].values() for r in values]
    means: dict[str, list[float]] = {}
    for r in rows:
        means.setdefault(r["node"], []).append(r["share"])
    order = sorted(means, key=lambda n: -sum(means[n]) / len(means[n]))
    assert len(order) >= 4, order
    svg = vlc.vegalite_to_svg(spec)
    png = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["partitions_chart"].value).group(1)
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_content(f'<body style="margin:0">{svg}<img id="png" src="data:image/png;base64,{png}"></body>')
            assert page.locator("g.role-legend").count() == 1
            labels = page.locator("g.role-legend-label text")
            assert labels.all_text_contents() == order
            chart = page.locator("svg").first.bounding_box()
            for i in range(labels.count()):
                box = labels.nth(i).bounding_box()
                assert box is not None and box["width"] > 0 and box["x"] + box["width"] <= chart["x"] + chart["width"]
            symbols = page.eval_on_selector_all(
                "g.role-legend-symbol path",
                "els => els.map(e => [e.getAttribute('stroke'), e.getAttribute('stroke-dasharray')])",
            )
            assert len(set(map(tuple, symbols))) == len(order), symbols  # colour and dash tell every line apart
            page.wait_for_function("() => document.getElementById('png').complete")
            natural = page.eval_on_selector("#png", "img => [img.naturalWidth, img.naturalHeight]")
            assert tuple(natural) == png_size(base64.b64decode(png)) and natural[0] > 0
            page.locator("svg").first.screenshot(path=str(ARTIFACTS / "partitions_chart_legend.png"))
        finally:
            browser.close()
