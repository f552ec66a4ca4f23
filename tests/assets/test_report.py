"""ici/<model>/report: one self-contained HTML page per demo model, its numbers the published tables'."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ici_assets.publish.report_html import SECTIONS
from tests.e2e.test_e2e import metadata_of

MODELS = ("marketing_nodes", "media_nodes")
#: Anything that would make the page fetch from elsewhere: a script, a style sheet or font by address, a remote image.
OUTSIDE = re.compile(r"<script|<link|@import|url\(|src=\"(?!data:)|https?://", re.IGNORECASE)


def page(backfill_reports, model: str) -> str:
    return Path(
        metadata_of(backfill_reports["reports"], dg.AssetKey(["ici", model, "report"]))["path"].value
    ).read_text()


def number(cell: str) -> float:
    """The first number of a cell ('1.23 (1.10–1.40)' -> 1.23)."""
    return float(re.match(r"\s*(-?[\d,]*\.?\d+)", cell).group(1).replace(",", ""))


def cells(html: str, section: str, node: str) -> list[str]:
    body = re.search(rf'<section id="{section}">(.*?)</section>', html, re.S).group(1)
    row = re.search(rf'<tr data-node="{node}">(.*?)</tr>', body, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]


@pytest.mark.parametrize("model", MODELS)
def test_report_written_beside_the_warehouse_self_contained(backfill_reports, model: str) -> None:
    metadata = metadata_of(backfill_reports["reports"], dg.AssetKey(["ici", model, "report"]))
    path = Path(metadata["path"].value)
    assert path == backfill_reports["warehouse"].parent.resolve() / "reports" / f"{model}.html"
    html = path.read_text()
    assert not OUTSIDE.search(html), OUTSIDE.search(html)
    assert html.count('src="data:image/png;base64,') >= 2
    ids = re.findall(r'<section id="(\w+)">', html)
    assert ids[:2] == ["answer", "drivers"] and {"fit", "checks", "glossary"} <= set(ids)
    assert ids == [s for s, _ in SECTIONS if s in ids]  # page order
    assert "share of <em>variation</em>" in html
    assert metadata["summary"].value.count("variation in revenue") == 1
    assert metadata["code_version"].value and -1 < metadata["holdout_r2"].value <= 1


def test_media_report_has_every_decision_section_and_the_tables_numbers(backfill_reports) -> None:
    html = page(backfill_reports, "media_nodes")
    ids = re.findall(r'<section id="(\w+)">', html)
    assert ids == [
        "answer",
        "drivers",
        "returns",
        "marginal",
        "fit",
        "transforms",
        "response",
        "budget",
        "changes",
        "checks",
        "glossary",
    ]
    with duckdb.connect(str(backfill_reports["warehouse"]), read_only=True) as con:
        returns = con.execute("SELECT * FROM ici.channel_returns WHERE model = 'media_nodes'").df()
        shares = con.execute(
            "SELECT node, share FROM ici.ici_shares WHERE model = 'media_nodes' AND partition_key IS NULL"
        ).df()
    for r in returns.itertuples():
        row = cells(html, "returns", r.node)
        roi, low_high = number(row[3]), re.findall(r"(-?[\d.]+)–(-?[\d.]+)", row[3])[0]
        decimals = len(row[3].split(" ")[0].split(".")[1]) if "." in row[3].split(" ")[0] else 0
        assert roi == pytest.approx(r.roi, abs=0.51 * 10**-decimals)
        assert float(low_high[0]) == pytest.approx(r.roi_low, abs=0.51 * 10**-decimals)
        assert number(row[4]) == pytest.approx(r.spend_share, abs=0.051)
        assert number(row[5]) == pytest.approx(r.contribution_share, abs=0.051)
        assert number(cells(html, "marginal", r.node)[1]) == pytest.approx(r.marginal_roi, rel=0.05)
    for s in shares.itertuples():
        assert number(cells(html, "drivers", s.node)[1]) == pytest.approx(s.share, abs=0.51)
    budget = re.search(r'<section id="budget">(.*?)</section>', html, re.S).group(1)
    assert [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<tr><td>(.*?)</td>", budget)] == [
        "-20 %",
        "-10 %",
        "today's total",
        "+10 %",
        "+20 %",
    ]
    checks = re.search(r'<section id="checks">(.*?)</section>', html, re.S).group(1)
    assert checks.count('class="pass">passed') >= 7 and 'class="fail"' not in checks


def test_report_needs_a_folder_on_a_server_warehouse() -> None:
    from ici_assets.assets.report import report_folder
    from ici_assets.assets.resources import WarehouseResource

    with pytest.raises(ValueError, match="reports_dir"):
        report_folder(None, WarehouseResource(path="", warehouse_type="postgres"))
    assert report_folder("/tmp/x", WarehouseResource(path="")) == Path("/tmp/x")


def test_report_after_the_backfill_says_why_revenue_moved(backfill_reports) -> None:
    """make demo's last run (ici_reports): the page now explains the largest monthly changes, the click-through
    drop of 2025-03 (about -15 %) and its recovery in 2025-04 among them."""
    from ici_assets.demo.media import CTR_DROP_MONTH

    result = backfill_reports["reports"]
    assert {e.asset_key.path[1] for e in result.get_asset_materialization_events()} == {*MODELS, "weekly_nodes"}
    html = Path(metadata_of(result, dg.AssetKey(["ici", "media_nodes", "report"]))["path"].value).read_text()
    changes = re.search(r'<section id="changes">(.*?)</section>', html, re.S).group(1)
    months = re.findall(r"<b>(\d{4}-\d{2})</b>", changes)
    # the drop and its recovery the month after are the two largest; each sentence names social_clicks
    assert len(months) == 3 and set(months[:2]) == {CTR_DROP_MONTH, "2025-04"}, months
    paragraphs = {re.search(r"<b>(\d{4}-\d{2})</b>", p).group(1): p for p in changes.split("</p>")[1:-1]}
    assert all("social_clicks" in paragraphs[m] for m in (CTR_DROP_MONTH, "2025-04")), paragraphs


def test_largest_months_by_absolute_change() -> None:
    from ici_assets.assets.report import largest_months

    rows = [
        (m, n, c)
        for m, c in (("2025-01", 1.0), ("2025-02", -5.0), ("2025-03", 3.0), ("2025-04", -2.0))
        for n in ("a", "b")
    ]
    frame = pd.DataFrame(rows, columns=["period", "node", "observed_change"])
    top = largest_months(frame)
    assert top["period"].drop_duplicates().tolist() == ["2025-02", "2025-03", "2025-04"]
    assert len(top) == 6 and largest_months(frame.iloc[:0]) is None and largest_months(None) is None
