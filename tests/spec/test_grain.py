"""Time grains: the coverage check, window slices and the contributions chart follow meta.ici.time_grain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.assets.partitions import MonthlyWindows
from ici_assets.checks.coverage import coverage_check
from ici_assets.spec.meta import ChecksMeta, ModelMeta, MonthlyMeta, PartitionsMeta
from ici_assets.spec.model import IciSpec


def spec(grain: str, unit: tuple[str, ...] = ("week",), monthly: MonthlyMeta | None = None) -> IciSpec:
    meta = ModelMeta(
        target="y",
        unit=list(unit),
        time_column="week",
        time_grain=grain,  # type: ignore[arg-type]
        checks=ChecksMeta(min_rows=10),
        partitions=PartitionsMeta(monthly=monthly),
    )
    return IciSpec(model="m", unique_id="model.p.m", parents={"x": (), "y": ("x",)}, meta=meta)


def national(n: int = 200, start: str = "2021-01-03", freq: str = "W-SUN") -> pd.DataFrame:
    """One national weekly series, dated on Sundays (week ending), no unit column besides time."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({"week": pd.date_range(start, periods=n, freq=freq), "x": rng.normal(size=n), "y": 0.0})


def test_weekly_national_series_is_complete():
    outcome = coverage_check(spec("week"), national())
    assert outcome.passed, outcome.description
    assert outcome.description == "Every week (one series) present."
    assert outcome.metadata["n_periods"] == 200 and outcome.metadata["missing_periods"] == 0


def test_weekly_table_fails_the_daily_check_as_the_issue_saw():
    """The same table declared at the default grain (day) is incomplete: six days missing per week."""
    outcome = coverage_check(spec("day"), national())
    assert not outcome.passed and "1194 day(s) missing" in outcome.description


def test_a_missing_week_and_an_off_weekday_row_are_named():
    frame = national().drop(index=[50]).reset_index(drop=True)
    frame.loc[10, "week"] += pd.Timedelta(days=2)  # a Tuesday among Sundays
    outcome = coverage_check(spec("week"), frame)
    assert not outcome.passed
    missing = str(national()["week"][50].date())
    assert "1 week(s) missing between 2021-01-03 and" in outcome.description and missing in outcome.description
    assert "1 row(s) not dated on the weekday of the first week" in outcome.description
    assert str(frame.loc[10, "week"].date()) in outcome.description


def test_weekly_regional_table_counts_rows_per_week_and_region():
    weeks = national(150)
    frame = pd.concat([weeks.assign(region=r) for r in ("north", "south", "west")], ignore_index=True)
    ok = coverage_check(spec("week", ("week", "region")), frame)
    assert ok.passed and ok.metadata["n_units"] == 3 and ok.description == "Every week x unit present."
    short = frame.drop(index=frame.index[(frame["region"] == "west") & (frame["week"] == weeks["week"][7])])
    bad = coverage_check(spec("week", ("week", "region")), short)
    missing = str(weeks["week"][7].date())
    assert not bad.passed and "region west misses 1 of its 150 weeks from 2021-01-03 to" in bad.description
    assert missing in bad.description and bad.metadata["missing_unit_periods"] == 1


def test_monthly_table_dated_at_month_end():
    months = pd.date_range("2015-01-31", periods=60, freq="ME")
    frame = pd.DataFrame({"week": months, "x": np.arange(60.0), "y": 0.0})
    assert coverage_check(spec("month"), frame).passed
    gap = coverage_check(spec("month"), frame.drop(index=[12]))
    assert not gap.passed and "1 month(s) missing" in gap.description and "2016-01-01" in gap.description


def test_monthly_windows_over_weekly_rows():
    """A trailing window of months holds the weeks dated in it, whatever the grain."""
    scheme = MonthlyWindows(spec("week", monthly=MonthlyMeta(start="2022-01-01", window_months=12)))
    frame = national()
    ((key, rows),) = scheme.slices(frame, ["2022-06-01"])
    assert rows["week"].min() >= pd.Timestamp("2021-07-01") and rows["week"].max() < pd.Timestamp("2022-07-01")
    assert len(rows) == 52 and coverage_check(scheme.spec, rows).passed


@pytest.mark.parametrize("grain, per, n_points", [("day", "week", 10), ("week", "week", 9), ("month", "month", 3)])
def test_contributions_chart_sums_per_week_or_month(grain, per, n_points):
    from ici_assets.publish.charts import contributions_chart

    freq = {"day": "D", "week": "W-SUN", "month": "MS"}[grain]
    n = {"day": 60, "week": 9, "month": 3}[grain]
    contrib = pd.DataFrame(
        {"period": pd.date_range("2024-01-07", periods=n, freq=freq), "node": "x", "contribution": 1.0}
    )
    spec_dict = contributions_chart(contrib, title="t", unit="EUR", grain=grain).to_dict()
    values = next(iter(spec_dict["datasets"].values()))
    encoding = spec_dict["spec"]["layer"][0]["encoding"]  # one panel per node, the area layer first
    assert encoding["x"]["field"] == per and spec_dict["title"]["subtitle"].startswith(f"EUR per {per},")
    assert len(values) == n_points and sum(v["contribution"] for v in values) == n


def test_changing_the_grain_changes_the_scm_and_shares_code_versions():
    """The grain sets the periods the bootstrap resamples and the folds of the mechanism choice (runs of
    periods): the fitted model and the shares both go stale (issue 20, bug 2)."""
    from ici_assets.publish.versions import scm_code_version, shares_code_version

    week, month = spec("week"), spec("month")
    assert shares_code_version(week) != shares_code_version(month)
    assert scm_code_version(week) != scm_code_version(month)
    assert shares_code_version(week) == shares_code_version(spec("week"))
