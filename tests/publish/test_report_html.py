"""The report page from plain tables: sections present only with their data, nothing loaded from outside."""

from __future__ import annotations

import re

import pandas as pd

from ici_assets.publish.report_html import ReportData, one_line, render_report

OUTSIDE = re.compile(r"<script|<link|@import|url\(|src=\"(?!data:)|https?://", re.IGNORECASE)


def data(**extra) -> ReportData:
    shares = pd.DataFrame(
        {
            "node": ["tv", "demand", "revenue"],
            "share": [61.0, 33.0, 6.0],
            "share_low": [55.0, 30.0, 5.0],
            "share_high": [66.0, 36.0, 7.0],
        }
    )
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    fit = pd.DataFrame({"period": months, "actual": range(100, 112), "predicted": range(101, 113)})
    holdout = {"holdout_r2": 0.81, "in_sample_r2": 0.9, "holdout_mape": 4.2, "test_fraction": 0.2, "n_test": 70}
    checks = [("scm", "graph_not_contradicted", "passed", "about"), ("shares", "shares_sum_to_100", "failed", "x")]
    return ReportData(
        "shop",
        "revenue",
        "EUR",
        "per day",
        "2024-01-01 to 2024-12-31",
        365,
        shares,
        fit,
        holdout,
        checks,
        n_bootstrap=20,
        **extra,
    )


def test_a_model_without_decisions_has_five_sections_and_is_self_contained() -> None:
    html = render_report(data())
    assert re.findall(r'<section id="(\w+)">', html) == ["answer", "drivers", "fit", "checks", "glossary"]
    assert not OUTSIDE.search(html) and html.count('src="data:image/png;base64,') == 2
    assert "61 % (55–66)" in html and "R² 0.81" in html and 'class="fail">failed' in html
    assert one_line(data()) == "tv drives 61 % (55–66) of the variation in revenue."


def test_returns_and_budget_sections_with_their_numbers() -> None:
    returns = pd.DataFrame(
        {
            "node": ["tv", "social"],
            "spend": [2.0e7, 1.0e7],
            "incremental_target": [3.0e7, 2.4e7],
            "incremental_low": [2.5e7, 2.0e7],
            "incremental_high": [3.5e7, 2.8e7],
            "roi": [1.5, 2.4],
            "roi_low": [1.25, 2.0],
            "roi_high": [1.75, 2.8],
            "marginal_roi": [0.5, 1.1],
            "marginal_roi_low": [0.4, 0.9],
            "marginal_roi_high": [0.6, 1.3],
            "spend_share": [66.7, 33.3],
            "contribution_share": [20.0, 16.0],
        }
    )
    rows = [(c, n, cur, rec) for c in (-0.2, 0.0, 0.2) for n, cur, rec in (("tv", 60.0, 50.0), ("social", 40.0, 50.0))]
    scenarios = pd.DataFrame(rows, columns=["change", "node", "current", "recommended"]).assign(
        expected_uplift=10.0, uplift_low=5.0, uplift_high=15.0
    )
    html = render_report(data(returns=returns, scenarios=scenarios))
    ids = re.findall(r'<section id="(\w+)">', html)
    assert ids == ["answer", "drivers", "returns", "marginal", "fit", "budget", "checks", "glossary"]
    social = re.search(r'<tr data-node="social">(.*?)</tr>', html).group(1)
    assert "2.4 (2.0–2.8)" in social and "33.3 %" in social and "24 (20–28)" in social  # EUR million
    assert "EUR million" in html and "social</b> brought 2.4 (2.0–2.8) EUR" in html
    assert [c for c in re.findall(r"<tr><td>(.*?)</td>", html) if "%" in c or "total" in c] == [
        "-20 %",
        "today's total",
        "+20 %",
    ]


def test_transforms_and_changes_sections_only_when_given() -> None:
    changes = pd.DataFrame(
        {
            "period": ["2025-03-01", "2025-03-01"],
            "node": ["social_clicks", "demand"],
            "observed_change": [-9.0, -9.0],
            "sentence": ["Revenue fell 15 %, mostly social_clicks.", "Revenue fell 15 %, mostly social_clicks."],
        }
    )
    html = render_report(data(transforms=["tv: geometric decay 0.7"], changes=changes))
    ids = re.findall(r'<section id="(\w+)">', html)
    assert ids == ["answer", "drivers", "fit", "transforms", "changes", "checks", "glossary"]
    assert "<li>tv: geometric decay 0.7</li>" in html
    assert html.count("<b>2025-03</b>: Revenue fell 15 %, mostly social_clicks.") == 1  # one line per month


def test_calibration_section_only_for_a_calibrated_model() -> None:
    assert "calibration" not in re.findall(r'<section id="(\w+)">', render_report(data()))
    line = "Calibrated to 1 lift test(s): `tv_spend` returns 1.00 EUR of revenue per EUR (+- 0.10; uncalibrated 1.35)."
    html = render_report(data(calibration=[line]))
    assert re.findall(r'<section id="(\w+)">', html) == [
        "answer",
        "drivers",
        "calibration",
        "fit",
        "checks",
        "glossary",
    ]
    assert "<code>tv_spend</code> returns 1.00 EUR of revenue per EUR (+- 0.10; uncalibrated 1.35)." in html
    assert "calibrated = false" in html  # where the uncalibrated numbers are
