"""The media model's report as a person sees it: opened from its file in headless Chromium at 1,280 px.

No request may leave the file while it loads (every request is recorded; anything but the file itself and its
data URIs is aborted and fails the test), nothing scrolls sideways, every section is there, and the ROI and share
numbers on the page are the ones in ici.channel_returns. A full-page screenshot goes to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.e2e.test_e2e import metadata_of
from tests.e2e.test_ui_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SECTIONS = ["answer", "drivers", "returns", "marginal", "fit", "transforms", "response", "budget", "checks", "glossary"]


def first_number(text: str) -> float:
    return float(re.match(r"\s*(-?[\d,]*\.?\d+)", text).group(1).replace(",", ""))


def decimals(text: str) -> int:
    head = text.split(" ")[0]
    return len(head.split(".")[1]) if "." in head else 0


def section_screenshots(page, model: str) -> list[Path]:
    """An element screenshot of each report section (``report_<model>_<section>.png``): one image per part to
    look at, as a reader scrolls to it."""
    shots = []
    for section in SECTIONS:
        target = ARTIFACTS / f"report_{model}_{section}.png"
        target.unlink(missing_ok=True)  # a file left by an earlier run must not pass for this one
        element = page.locator(f"section#{section}")
        element.wait_for(state="visible", timeout=30_000)
        element.screenshot(path=str(target), timeout=30_000)
        shots.append(target)
    return shots


def test_media_report_offline_in_chromium(demo_run) -> None:
    from playwright.sync_api import sync_playwright

    path = Path(metadata_of(demo_run["result"], dg.AssetKey(["ici", "media_nodes", "report"]))["path"].value)
    with duckdb.connect(str(demo_run["warehouse"]), read_only=True) as con:
        returns = con.execute("SELECT * FROM ici.channel_returns WHERE model = 'media_nodes'").df()
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

    with sync_playwright() as pw:
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
            assert ids == SECTIONS
            for section in SECTIONS:
                assert page.locator(f"#{section} h2").is_visible()
            widths = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.clientWidth])")
            assert len(widths) >= 3 and all(n > 0 and 0 < c <= 960 for n, c in widths)  # decoded, within the column
            for r in returns.itertuples():
                row = page.locator(f'#returns tr[data-node="{r.node}"] td').all_inner_texts()
                roi = row[3]
                assert first_number(roi) == pytest.approx(r.roi, abs=0.51 * 10 ** -decimals(roi))
                assert first_number(row[4]) == pytest.approx(r.spend_share, abs=0.051)
                assert first_number(row[5]) == pytest.approx(r.contribution_share, abs=0.051)
                marginal = page.locator(f'#marginal tr[data-node="{r.node}"] td').all_inner_texts()[1]
                assert first_number(marginal) == pytest.approx(r.marginal_roi, abs=0.51 * 10 ** -decimals(marginal))
            answer = page.locator("#answer li").all_inner_texts()
            assert len(answer) == 3 and "ROI" not in answer[0]
            page.screenshot(path=str(ARTIFACTS / "report_media_nodes.png"), full_page=True)
            shots = section_screenshots(page, "media_nodes")
            print("report section screenshots:", *map(str, shots), sep="\n  ")
            assert [p.name for p in shots] == [f"report_media_nodes_{s}.png" for s in SECTIONS]
            assert all(p.stat().st_size > 0 for p in shots), [(p, p.stat().st_size) for p in shots]
        finally:
            browser.close()
