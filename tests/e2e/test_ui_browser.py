"""In a real browser: the Dagster UI shows raw -> dbt -> SCM -> ICI lineage, the answer and its chart, dbt types.

A small demo is materialised into a temporary, persistent Dagster instance; ``python -m ici_assets.dev.devserver``
(what ``make dev`` runs: webserver and daemon) serves it on loopback and headless Debian Chromium (driven by
Playwright) checks the asset graph, the shares asset's summary and its ``shares_chart`` (a data-URI PNG at
least 1,000 px wide), and the column types of a dbt model. The last test sends the dev server one SIGINT, as
Ctrl-C does, and wants every process it started gone within 10 s. Screenshots go to ``test-artifacts/``
at the repo root (gitignored).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import code_location

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RAW_CONFIG = {
    "ops": {
        "raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 120}},
        "raw_media_tables": {"config": {"n_regions": 4}},
    }
}
SHARES_PATH = ["ici", "marketing_nodes", "shares"]
# raw table -> dbt staging -> dbt mart -> fitted SCM -> ICI shares, each step a direct dependency
LINEAGE = [["raw", "orders"], ["stg_orders"], ["marketing_nodes"], ["ici", "marketing_nodes", "scm"], SHARES_PATH]
SERVER_TIMEOUT_S = 90
RUN_TIMEOUT_S = 600
VS_PATH = ["ici", "marketing_nodes", "ici_vs_last_click"]
# upstream of the last-click comparison: both marts, the SCM and the shares
GRAPH_NODES = ("orders", "stg_orders", "marketing_nodes", "last_click_revenue", "scm", "shares", "ici_vs_last_click")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (run `make browser`)", allow_module_level=True)


def _png_width(markdown: str) -> int:
    """Width from the IHDR chunk of the data-URI PNG inside a markdown string."""
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", markdown)
    assert match, "no PNG data URI in the shares_chart markdown"
    png = base64.b64decode(match.group(1))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">I", png[16:20])[0]


def _graphql(base: str, query: str) -> dict:
    req = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    assert "errors" not in body, body["errors"]
    return body["data"]


def _log_tail(path: Path, n: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc), code servers started by the webserver included."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Terminate the webserver's whole process group (it spawns a code server)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory, dbt_project_copy):
    """Materialise the small demo into a persistent instance and serve it with the dev server (make dev)."""
    if CHROMIUM is None:
        pytest.fail("CI is set but chromium is not installed: run `make browser`")
    import dagster as dg

    from ici_assets.dev.launch import CodeLocationServer

    tmp = tmp_path_factory.mktemp("ui")
    warehouse = tmp / "warehouse.duckdb"
    entry, env = code_location(tmp, dbt_project_copy, warehouse)
    home = env["DAGSTER_HOME"]
    log = tmp / "webserver.log"
    # Launched through the code location, as the UI's Launch button and `make demo` do (not in process): the run
    # has a code-location origin, so the Overview and the job's page list it.
    with log.open("wb") as out:
        server = CodeLocationServer("-f", str(entry), cwd=tmp, env=env, log=out, start_timeout=SERVER_TIMEOUT_S)
        try:
            server.__enter__()
        except (RuntimeError, TimeoutError) as exc:
            pytest.fail(f"{exc}:\n{_log_tail(log)}")
    assert server.proc is not None
    proc = server.proc
    try:
        run = server.run("ici_demo", RAW_CONFIG, timeout=RUN_TIMEOUT_S)
        run_id = run.run_id
        assert run.success, f"the demo run {run_id} ended {run.status}:\n{_log_tail(log)}"
        with dg.DagsterInstance.from_config(home) as instance:
            event = instance.get_latest_materialization_event(dg.AssetKey(SHARES_PATH))
            assert event is not None and event.run_id == run_id and event.asset_materialization is not None
            metadata = event.asset_materialization.metadata
        shares_md, summary = metadata["shares_chart"].value, metadata["summary"].value
        yield {"base": server.base, "shares_md": shares_md, "summary": summary, "proc": proc, "run_id": run_id}
    finally:
        server.__exit__()
        _stop(proc)


@pytest.fixture(scope="module")
def page(ui_server):
    """A Chromium page with the community pop-up dismissed in advance."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
            pg = context.new_page()
            pg.set_default_timeout(30_000)
            yield pg
        finally:
            browser.close()


def test_lineage_api(ui_server):
    """The webserver's GraphQL API has each direct edge raw -> stg -> mart -> SCM -> shares."""
    nodes = _graphql(ui_server["base"], "{ assetNodes { assetKey { path } dependencyKeys { path } } }")["assetNodes"]
    deps = {tuple(n["assetKey"]["path"]): {tuple(d["path"]) for d in n["dependencyKeys"]} for n in nodes}
    for upstream, downstream in zip(LINEAGE, LINEAGE[1:]):
        assert tuple(upstream) in deps.get(tuple(downstream), set()), (
            f"{'/'.join(downstream)} does not depend on {'/'.join(upstream)}; its deps: {deps.get(tuple(downstream))}"
        )


def test_lineage_graph_in_browser(ui_server, page):
    """The comparison asset's upstream lineage graph draws raw, dbt and ICI nodes."""
    page.goto(f"{ui_server['base']}/assets/{'/'.join(VS_PATH)}?view=lineage&lineageScope=upstream&lineageDepth=10")
    # graph nodes are HTML inside the SVG's <foreignObject>s; only upstream assets of the comparison are drawn
    for name in GRAPH_NODES:
        node = page.locator("svg foreignObject").get_by_text(name, exact=True)
        node.first.wait_for(state="visible")
        assert node.count() == 1, f"{name}: {node.count()} graph nodes"
    for group in (
        "raw",
        "staging",
        "marts",
        "ici_marketing_nodes",
    ):  # group boxes (one ICI group per model), in the SVG
        page.locator("svg foreignObject").get_by_text(group, exact=True).first.wait_for(state="visible")
    # Live data arrives after the layout: each node box turns green once Dagster reports it
    # materialised (an inline CSS variable of dagster-webserver 1.13's minimal asset node).
    page.wait_for_function(
        """names => names.every(name => [...document.querySelectorAll('svg foreignObject div')].some(
               el => el.textContent === name && el.children.length === 0 &&
                     (el.parentElement.getAttribute('style') || '').includes('background-green')))""",
        arg=list(GRAPH_NODES),
    )
    page.screenshot(path=str(ARTIFACTS / "ui_asset_graph.png"), full_page=True)


def open_chart(page, base: str, name: str):
    """Open the shares asset's chart ``name`` from its [Show Markdown] link; (dialog, image) once the PNG loaded."""
    page.goto(f"{base}/assets/{'/'.join(SHARES_PATH)}")
    row = page.locator("tr").filter(has=page.get_by_text(name, exact=True))
    row.get_by_text("[Show Markdown]", exact=True).click()
    dialog = page.get_by_role("dialog").filter(has_text=name)
    img = dialog.locator('img[src^="data:image/png"]')
    img.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    return dialog, img


def test_shares_chart_renders_in_browser(ui_server, page):
    """``shares_chart``'s [Show Markdown] dialog shows the very PNG stored in the metadata, decoded, whole."""
    dialog, img = open_chart(page, ui_server["base"], "shares_chart")
    natural_width, natural_height = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    page.wait_for_timeout(600)  # the dialog fades in: a screenshot at once shows it half transparent
    page.screenshot(path=str(ARTIFACTS / "ui_shares_chart.png"), full_page=True)
    assert natural_height > 0
    assert natural_width == _png_width(ui_server["shares_md"]) >= 1000
    assert img.get_attribute("src") in ui_server["shares_md"]
    # shown whole: the image's right edge inside the dialog's (a wider PNG was clipped there)
    box, frame = img.bounding_box(), dialog.bounding_box()
    assert box is not None and frame is not None
    assert box["x"] + box["width"] <= frame["x"] + frame["width"], (box, frame)


def test_run_has_a_code_location_origin_and_is_listed(ui_server, page):
    """The launched demo run belongs to the code location (not in-process), so the Overview's timeline and the
    job's page list it."""
    run = _graphql(
        ui_server["base"],
        f"""{{ runOrError(runId: "{ui_server["run_id"]}") {{ ... on Run {{
            jobName repositoryOrigin {{ repositoryLocationName repositoryName }} }} }} }}""",
    )["runOrError"]
    assert run["jobName"] == "ici_demo" and run["repositoryOrigin"]["repositoryLocationName"], run
    origin = run["repositoryOrigin"]
    page.goto(f"{ui_server['base']}/overview/activity/timeline")
    page.get_by_text("ici_demo", exact=True).first.wait_for(state="visible")
    assert page.get_by_text("No runs or scheduled ticks in this time period").count() == 0
    page.screenshot(path=str(ARTIFACTS / "ui_overview_timeline.png"), full_page=True)
    job = f"{origin['repositoryName']}@{origin['repositoryLocationName']}"
    page.goto(f"{ui_server['base']}/locations/{job}/jobs/ici_demo/runs")
    page.get_by_text(ui_server["run_id"][:8]).first.wait_for(state="visible")
    assert page.get_by_text("No runs found").count() == 0


def _plain(markdown: str) -> str:
    """Markdown as the UI renders it to text: no emphasis markers."""
    return re.sub(r"\*\*?([^*]+)\*\*?", r"\1", markdown).strip()


def test_summary_on_the_shares_asset_page(ui_server, page):
    """The shares asset page shows the one-line answer (the top drivers with their intervals) as its first
    metadata entry; the stored markdown's words are on the page."""
    page.goto(f"{ui_server['base']}/assets/{'/'.join(SHARES_PATH)}")
    # the metadata row itself (other tables on the page can hold a cell "summary" too)
    rows = page.locator("tr").filter(has=page.get_by_text("summary", exact=True))
    row = rows.filter(has_text=re.compile(r"Top drivers|Show Markdown")).first
    row.wait_for(state="visible")
    row.scroll_into_view_if_needed()
    show = row.get_by_text("[Show Markdown]", exact=True)
    if show.count():  # long markdown sits behind a link; short markdown renders in the row
        show.click()
        where = page.get_by_role("dialog").filter(has_text="summary")
    else:
        where = row
    text = " ".join(where.inner_text().split())
    print(f"summary {'behind [Show Markdown]' if show.count() else 'inline'}: {text}")
    page.screenshot(path=str(ARTIFACTS / "ui_shares_summary.png"), full_page=True)
    expected = _plain(ui_server["summary"])
    drivers = re.findall(r"\*\*(\w+)\*\*", ui_server["summary"])
    assert drivers[:2] == ["demand", "social_clicks"]
    assert all(d in text for d in drivers) and expected.split()[-1] in text, (text, expected)
    if show.count():
        page.keyboard.press("Escape")


def test_freshness_policy_and_automation_on_the_shares_asset_page(ui_server, page):
    """The shares asset page shows its automation condition and sensor, and its freshness policy (stale after
    2 days for the daily demo model): what keeps it fresh without a launch."""
    page.goto(f"{ui_server['base']}/assets/{'/'.join(SHARES_PATH)}")
    page.get_by_text("eager after upstream checks pass", exact=True).first.wait_for(state="visible")
    heading = page.get_by_text("Freshness policy", exact=True).last
    heading.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)
    text = " ".join(page.locator("body").inner_text().split())
    page.screenshot(path=str(ARTIFACTS / "ui_shares_freshness.png"))
    found = text[text.rindex("Freshness policy") :][:300]
    print(f"automation and freshness on the shares page: {found}")
    assert "ici_automation__" in text
    assert re.search(r"2 days|48 hours|2d\b", found), found


def test_dbt_column_types_on_the_mart_page(ui_server, page):
    """A dbt model's page lists its columns with the types declared in the dbt YAML."""
    page.goto(f"{ui_server['base']}/assets/marketing_nodes")
    row = page.locator("tr").filter(has=page.get_by_text("tv_adstock", exact=True)).first
    row.wait_for(state="visible")
    row.scroll_into_view_if_needed()
    assert "double" in row.inner_text().lower()
    region = page.locator("tr").filter(has=page.get_by_text("region", exact=True)).first
    assert "varchar" in region.inner_text().lower()
    page.screenshot(path=str(ARTIFACTS / "ui_dbt_columns.png"), full_page=True)


# Every ancestor of the element up to the page opaque and untransformed: the dialog has finished fading and
# scaling in, so its box and a screenshot are final.
SETTLED_JS = """el => { for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e);
    if (s.opacity !== '1' || (s.transform !== 'none' && s.transform !== 'matrix(1, 0, 0, 1, 0, 0)')) return false; }
    return true; }"""
# The part of the element a person sees: its box cut by the viewport and by every clipping ancestor.
VISIBLE_BOX_JS = """el => { let r = el.getBoundingClientRect();
    let box = {left: Math.max(r.left, 0), top: Math.max(r.top, 0),
               right: Math.min(r.right, innerWidth), bottom: Math.min(r.bottom, innerHeight)};
    for (let e = el.parentElement; e; e = e.parentElement) { const s = getComputedStyle(e);
        if (s.overflowX !== 'visible' || s.overflowY !== 'visible') { const a = e.getBoundingClientRect();
            box = {left: Math.max(box.left, a.left), top: Math.max(box.top, a.top),
                   right: Math.min(box.right, a.right), bottom: Math.min(box.bottom, a.bottom)}; } }
    return box; }"""


def test_contributions_chart_fits_its_dialog(ui_server, page):
    """``contributions_chart``, the tallest chart of the shares asset, opens from [Show Markdown] whole: at the
    1,400 x 900 viewport its image lies inside the part of the dialog that is on screen, in width and height."""
    assert page.viewport_size == {"width": 1400, "height": 900}
    dialog, img = open_chart(page, ui_server["base"], "contributions_chart")
    page.wait_for_function(SETTLED_JS, arg=dialog.element_handle())
    natural = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    box, seen = img.bounding_box(), dialog.evaluate(VISIBLE_BOX_JS)
    page.screenshot(path=str(ARTIFACTS / "ui_contributions_chart.png"))
    page.keyboard.press("Escape")
    print(f"contributions_chart: natural {natural}, drawn {box}, dialog on screen {seen}")
    assert box is not None and natural[0] > 0 and natural[1] > 0
    assert box["width"] > 0 and box["height"] > 0
    assert box["x"] >= seen["left"] - 0.5 and box["x"] + box["width"] <= seen["right"] + 0.5, (box, seen)
    assert box["y"] >= seen["top"] - 0.5 and box["y"] + box["height"] <= seen["bottom"] + 0.5, (box, seen)


def test_overview_summary_is_not_clipped(ui_server, page):
    """On the shares asset's Overview tab the Metadata table needs no sideways scroll and its first row, the
    summary, shows its whole text (no cell wider inside than out)."""
    page.goto(f"{ui_server['base']}/assets/{'/'.join(SHARES_PATH)}?view=overview")
    cell = page.locator("td").get_by_text("summary", exact=True).first
    cell.wait_for(state="visible")
    table = cell.locator("xpath=ancestor::table[1]")
    first_row = table.locator("tbody tr").first
    first_row.scroll_into_view_if_needed()
    assert first_row.locator("td").first.inner_text().strip() == "summary", first_row.inner_text()
    widths = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth, t.parentElement.scrollWidth]")
    clipped = first_row.evaluate(
        """r => [...r.querySelectorAll('td, td *')].filter(e => e.scrollWidth > e.clientWidth + 1 &&
                ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX)).map(e => e.tagName)"""
    )
    text = " ".join(first_row.inner_text().split())
    page.screenshot(path=str(ARTIFACTS / "ui_overview_summary.png"))
    print(f"Overview metadata table widths (table scroll, container client, container scroll): {widths}; {text}")
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
    assert clipped == [], clipped
    drivers = re.findall(r"\*\*(\w+)\*\*", ui_server["summary"])
    words = _plain(ui_server["summary"]).split()
    assert drivers and all(d in text for d in drivers) and words[-1] in text, (text, ui_server["summary"])
    for word in (drivers[0], words[-1]):  # the first and last words of the answer on screen, not scrolled away
        assert first_row.get_by_text(word).first.is_visible(), word


#: The other ICI assets with the longest metadata rows (the fit's mechanisms, the decisions' tables): their
#: Overview tables were sized from two measurements of the shares page; here each is measured.
WIDE_OVERVIEWS = [
    ["ici", "marketing_nodes", "scm"],
    ["ici", "media_nodes", "scm"],
    ["ici", "media_nodes", "spend_response"],
    ["ici", "media_nodes", "budget"],
]


def test_other_overviews_need_no_sideways_scroll(ui_server, page):
    """The Overview tab's Metadata table of each of ``WIDE_OVERVIEWS`` fits its box, summary first."""
    measured = {}
    for path in WIDE_OVERVIEWS:
        page.goto(f"{ui_server['base']}/assets/{'/'.join(path)}?view=overview")
        cell = page.locator("td").get_by_text("summary", exact=True).first
        cell.wait_for(state="visible")
        table = cell.locator("xpath=ancestor::table[1]")
        first = table.locator("tbody tr").first.locator("td").first.inner_text().strip()
        widths = table.evaluate("t => [t.scrollWidth, t.parentElement.clientWidth, t.parentElement.scrollWidth]")
        measured["/".join(path)] = (first, widths)
    print(f"Overview metadata tables (first row; table scroll, container client, container scroll): {measured}")
    for name, (first, (table, box, scroll)) in measured.items():
        assert first == "summary" and table <= box and scroll <= box, (name, first, table, box, scroll)


def test_clicks_from_home_to_the_summary(ui_server, page):
    """From the UI's root the shares summary is two clicks away through the UI's own links: the navigation's
    Catalog, then the asset's key ``ici / marketing_nodes / shares`` in the catalog's list."""
    page.goto(ui_server["base"])
    clicks = 0

    def click(locator) -> None:
        nonlocal clicks
        locator.wait_for(state="visible")
        locator.click()
        clicks += 1

    click(page.locator('a[href="/assets"]').filter(has_text="Catalog").first)
    # the catalog row's key link (its group link next to it opens the lineage graph, not the asset)
    click(page.locator(f'a[href="/assets/{"/".join(SHARES_PATH)}"]').filter(has_text="shares").first)
    page.wait_for_url(re.compile(rf"/assets/{'/'.join(SHARES_PATH)}(\?.*)?$"))
    rows = page.locator("tr").filter(has=page.get_by_text("summary", exact=True))
    row = rows.filter(has_text=re.compile(r"Top drivers|Show Markdown")).first
    row.wait_for(state="visible")
    row.scroll_into_view_if_needed()
    drivers = re.findall(r"\*\*(\w+)\*\*", ui_server["summary"])
    assert drivers and row.get_by_text(drivers[0]).first.is_visible(), row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "ui_clicks_to_summary.png"))
    print(f"clicks from the home page to the shares summary: {clicks} ({page.url})")
    assert clicks == 2


def test_dev_server_exits_within_10_s_of_sigint(ui_server):
    """One SIGINT to the dev server's process group (what Ctrl-C in a terminal sends) ends the webserver, the
    daemon and their code servers within 10 s (runs last: it stops the module's server)."""
    proc = ui_server["proc"]
    started = _descendants(proc.pid)
    assert len(started) >= 3, started  # webserver, daemon, and at least one code server
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    while time.monotonic() - t0 < 10 and (proc.poll() is None or any(_alive(p) for p in started)):
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    left = [p for p in started if _alive(p)]
    assert proc.poll() == 0 and not left, f"after {elapsed:.1f} s: exit {proc.poll()}, still alive {left}"
