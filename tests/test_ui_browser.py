"""In a real browser: the Dagster UI shows raw -> dbt -> SCM -> ICI lineage and renders the shares chart.

A small demo is materialised into a temporary, persistent Dagster instance; ``dagster-webserver``
serves it on loopback and headless Debian Chromium (driven by Playwright) checks the asset
graph and opens the ``shares_chart`` metadata entry, whose data-URI PNG must render.
Screenshots go to ``test-artifacts/`` at the repo root.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import code_location

REPO = Path(__file__).resolve().parent.parent
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
RAW_CONFIG = {"ops": {"raw_marketing_tables": {"config": {"n_regions": 5, "n_days": 120}}}}
SHARES_PATH = ["ici", "marketing_nodes", "shares"]
# raw table -> dbt staging -> dbt mart -> fitted SCM -> ICI shares, each step a direct dependency
LINEAGE = [["raw", "orders"], ["stg_orders"], ["marketing_nodes"], ["ici", "marketing_nodes", "scm"], SHARES_PATH]
SERVER_TIMEOUT_S = 90
VS_PATH = ["ici", "marketing_nodes", "ici_vs_last_click"]
# upstream of the last-click comparison: both marts, the SCM and the shares
GRAPH_NODES = ("orders", "stg_orders", "marketing_nodes", "last_click_revenue", "scm", "shares", "ici_vs_last_click")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("chromium is not installed (run `make browser`)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    """Materialise the small demo into a persistent instance and serve it with dagster-webserver."""
    if CHROMIUM is None:
        pytest.fail("CI is set but chromium is not installed: run `make browser`")
    import dagster as dg

    from ici_assets.build import build_definitions

    tmp = tmp_path_factory.mktemp("ui")
    warehouse = tmp / "warehouse.duckdb"
    entry, env = code_location(tmp, dbt_project_copy, warehouse)
    home = env["DAGSTER_HOME"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "webserver.log"
    # Start the webserver first: its ~10-40 s start-up overlaps the materialisation below.
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port), "-f", str(entry)],
            cwd=tmp,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        defs = build_definitions(dbt_project_copy, warehouse, include_demo_raw=True)
        with dg.DagsterInstance.from_config(home) as instance:
            result = defs.resolve_job_def("ici_demo").execute_in_process(
                instance=instance, run_config=RAW_CONFIG, raise_on_error=False
            )
        assert result.success, "the demo run failed; see the captured log"
        shares_md = next(
            e.materialization.metadata["shares_chart"].value
            for e in result.get_asset_materialization_events()
            if e.asset_key == dg.AssetKey(SHARES_PATH)
        )

        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer within {SERVER_TIMEOUT_S} s:\n{_log_tail(log)}")
            time.sleep(0.5)

        # The code location must load without error, or every page shows an empty graph.
        while True:
            entries = _graphql(
                base,
                """{ workspaceOrError { ... on Workspace { locationEntries {
                name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }""",
            )
            (loc,) = entries["workspaceOrError"]["locationEntries"]
            if loc["loadStatus"] == "LOADED":
                break
            if time.monotonic() > deadline:
                pytest.fail(f"code location still {loc['loadStatus']} after {SERVER_TIMEOUT_S} s")
            time.sleep(0.5)
        error = loc["locationOrLoadError"]
        assert error["__typename"] == "RepositoryLocation", (
            f"code location {loc['name']} failed to load in dagster-webserver: {error.get('message')}"
        )
        yield {"base": base, "shares_md": shares_md}
    finally:
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
    for group in ("raw", "staging", "marts", "ici"):  # group boxes, also drawn inside the SVG
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


def test_shares_chart_renders_in_browser(ui_server, page):
    """``shares_chart``'s [Show Markdown] dialog shows the very PNG stored in the metadata, decoded."""
    page.goto(f"{ui_server['base']}/assets/{'/'.join(SHARES_PATH)}")
    row = page.locator("tr").filter(has=page.get_by_text("shares_chart", exact=True))
    row.get_by_text("[Show Markdown]", exact=True).click()
    dialog = page.get_by_role("dialog").filter(has_text="shares_chart")
    img = dialog.locator('img[src^="data:image/png"]')
    img.wait_for(state="visible")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    natural_width, natural_height = img.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    page.screenshot(path=str(ARTIFACTS / "ui_shares_chart.png"), full_page=True)
    assert natural_height > 0
    assert natural_width == _png_width(ui_server["shares_md"])
    assert img.get_attribute("src") in ui_server["shares_md"]
