"""node_table_coverage judged unit by unit: each unit's own first and last period, its missing periods named, and
``meta.ici.coverage`` (staggered_units, max_missing_share) accepting the panels pipelines produce (issue 23, item 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ici_assets.checks.coverage import unit_coverage
from ici_assets.checks.ici import DESCRIPTIONS
from ici_assets.spec.meta import ModelMeta, parse_meta
from ici_assets.spec.model import IciSpec
from tests.user_data import MEDIA, STAGGERED, staggered_table


def panel(n_days: int = 20, units: tuple[str, ...] = ("a", "b", "c")) -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=n_days, freq="D")
    return pd.DataFrame({"date": np.repeat(days, len(units)), "region": np.tile(units, n_days), "x": 1.0})


def drop(frame: pd.DataFrame, region: str, days: list[str]) -> pd.DataFrame:
    gone = (frame["region"] == region) & frame["date"].isin(pd.to_datetime(days))
    return frame[~gone].reset_index(drop=True)


def by_unit(frame: pd.DataFrame, grain: str = "day", units: list[str] | None = None) -> dict:
    cov = unit_coverage(frame, ["region"] if units is None else units, "date", grain)
    return {u.unit: u for u in cov.units}


def test_each_unit_is_judged_between_its_own_first_and_last_period():
    frame = drop(panel(), "b", [f"2024-01-0{d}" for d in range(1, 6)])  # b opens on the 6th
    frame = drop(frame, "c", ["2024-01-20"])  # c closes a day early
    frame = drop(frame, "a", ["2024-01-10", "2024-01-11", "2024-01-15"])  # a misses three days
    cov = unit_coverage(frame, ["region"], "date", "day")
    assert (cov.first, cov.last, cov.n_calendar, cov.n_periods, cov.common_missing) == (
        "2024-01-01",
        "2024-01-20",
        20,
        20,
        (),
    )
    a, b, c = cov.units
    assert (a.unit, a.first, a.last, a.span, a.n_periods, a.missing) == ("a", "2024-01-01", "2024-01-20", 20, 17, 3)
    assert a.examples == ("2024-01-10", "2024-01-11", "2024-01-15") and a.missing_share == pytest.approx(0.15)
    assert (b.first, b.start_offset, b.end_offset, b.span, b.missing) == ("2024-01-06", 5, 0, 15, 0)
    assert (c.last, c.start_offset, c.end_offset, c.span, c.missing) == ("2024-01-19", 0, 1, 19, 0)


def test_examples_stop_at_five_but_the_count_does_not():
    frame = drop(panel(30), "a", [str(d.date()) for d in pd.date_range("2024-01-03", periods=8)])
    a = by_unit(frame)["a"]
    assert a.missing == 8 and a.examples == tuple(str(d.date()) for d in pd.date_range("2024-01-03", periods=5))


def test_duplicates_and_periods_no_unit_has_are_found():
    frame = pd.concat([panel(), panel().iloc[[4]]], ignore_index=True)  # b twice on 2024-01-02
    frame = frame[frame["date"] != "2024-01-07"]
    cov = unit_coverage(frame, ["region"], "date", "day")
    assert cov.common_missing == ("2024-01-07",) and cov.n_periods == 19
    b = {u.unit: u for u in cov.units}["b"]
    assert b.duplicates == 1 and b.duplicate_examples == ("2024-01-02",) and b.missing == 1


def test_weeks_and_months_and_several_unit_columns():
    weeks = pd.date_range("2024-01-07", periods=10, freq="W-SUN")
    frame = pd.DataFrame({"date": np.repeat(weeks, 2), "region": "n", "store": np.tile(["s1", "s2"], 10)})
    frame = frame.drop(index=[7]).reset_index(drop=True)  # store s2 misses its 4th week
    cov = by_unit(frame, "week", ["region", "store"])
    assert set(cov) == {"n/s1", "n/s2"} and cov["n/s2"].examples == ("2024-01-28",) and cov["n/s1"].missing == 0
    months = pd.date_range("2023-01-31", periods=12, freq="ME")
    monthly = pd.DataFrame({"date": months, "region": "n"}).drop(index=[0, 5])  # from February, misses June
    m = by_unit(monthly, "month")["n"]
    assert (m.first, m.start_offset, m.span, m.missing, m.examples) == ("2023-02-01", 0, 11, 1, ("2023-06-01",))


def spec(coverage: dict | None = None, time_column: str = "period") -> IciSpec:
    raw = {"target": "revenue", "unit": [time_column, "region"], "time_column": time_column, "coverage": coverage or {}}
    raw["checks"] = {"min_rows": 10}
    meta, error = parse_meta(ModelMeta, raw, where="media_daily.meta.ici")
    assert meta is not None, error
    return IciSpec("media_daily", "model.p.media_daily", {n: () for n in MEDIA.nodes}, meta)


@pytest.fixture(scope="module")
def staggered() -> pd.DataFrame:
    return staggered_table(MEDIA, STAGGERED, seed=0)[0]


def test_issue_panel_is_refused_naming_the_late_region_and_the_missing_days(staggered):
    from ici_assets.checks.coverage import coverage_check

    assert len(staggered) == 6387  # 12 x 540 - 90 - 3, as the issue's table
    outcome = coverage_check(spec(), staggered)
    assert not outcome.passed
    text = outcome.description
    assert "region region_07 starts on 2024-03-31, 90 day(s) after the table's first day" in text
    assert "region region_03 misses 3 of its 540 days from 2024-01-01 to 2025-06-23" in text
    assert "2024-07-19, 2024-07-20, 2024-07-21" in text  # positions 200-202 of the calendar
    assert "coverage: {staggered_units: true}" in text and "max_missing_share" in text
    assert "region_00" not in text  # complete regions are not named
    assert outcome.metadata["units_starting_late"] == 1 and outcome.metadata["missing_unit_periods"] == 3


def test_the_setting_accepts_the_panel_and_says_what_it_accepted(staggered):
    from ici_assets.checks.coverage import coverage_check

    outcome = coverage_check(spec({"staggered_units": True, "max_missing_share": 0.02}), staggered)
    assert outcome.passed, outcome.description
    assert "region region_07 starts on 2024-03-31" in outcome.description
    assert "3 missing day(s) in 1 unit(s), within max_missing_share 0.02" in outcome.description
    assert outcome.metadata["max_missing_share"] == pytest.approx(3 / 540)


def test_each_half_of_the_setting_accepts_only_its_own_gap(staggered):
    from ici_assets.checks.coverage import coverage_check

    only_late = coverage_check(spec({"staggered_units": True}), staggered)
    assert not only_late.passed and "region_03 misses 3" in only_late.description
    assert "region_07" not in only_late.description.split(". Check")[0]
    only_gaps = coverage_check(spec({"max_missing_share": 0.02}), staggered)
    assert not only_gaps.passed and "region_07 starts on" in only_gaps.description
    assert "region_03" not in only_gaps.description
    tight = coverage_check(spec({"staggered_units": True, "max_missing_share": 0.005}), staggered)
    assert not tight.passed and "0.0056" in tight.description  # 3 / 540 is above 0.5 %


def test_a_duplicate_row_is_refused_whatever_the_setting(staggered):
    from ici_assets.checks.coverage import coverage_check

    twice = pd.concat([staggered, staggered.iloc[[100]]], ignore_index=True)
    outcome = coverage_check(spec({"staggered_units": True, "max_missing_share": 0.5}), twice)
    row = staggered.iloc[100]
    assert not outcome.passed
    assert "1 duplicate row(s)" in outcome.description and f"region {row['region']} on " in outcome.description


def test_the_setting_is_strict_and_described():
    _, error = parse_meta(ModelMeta, {"target": "y", "coverage": {"staggered": True}}, where="m.meta.ici")
    assert "unknown key 'm.meta.ici.coverage.staggered': did you mean 'staggered_units'?" in error
    _, error = parse_meta(ModelMeta, {"target": "y", "coverage": {"max_missing_share": 1.5}}, where="m.meta.ici")
    assert "m.meta.ici.coverage.max_missing_share" in error
    _, error = parse_meta(ModelMeta, {"target": "y", "coverage": {"staggered_units": "yes"}}, where="m.meta.ici")
    assert "m.meta.ici.coverage.staggered_units" in error
    assert "staggered_units" in DESCRIPTIONS["node_table_coverage"]


def test_a_day_every_unit_misses_is_named_once_and_a_lone_unit_by_its_name():
    from ici_assets.checks.coverage import coverage_check

    frame = panel()
    outcome = coverage_check(spec(time_column="date"), frame[frame["date"] != "2024-01-07"])
    assert not outcome.passed and outcome.metadata["missing_periods"] == 1
    assert "1 day(s) missing for every unit between 2024-01-01 and 2024-01-20 (e.g. ['2024-01-07'])" in (
        outcome.description
    )
    assert "region a" not in outcome.description  # not repeated unit by unit
    lone = drop(frame[frame["region"] == "b"], "b", ["2024-01-03", "2024-01-04"])  # one region's partition
    outcome = coverage_check(spec(time_column="date"), lone)
    assert not outcome.passed and outcome.description.startswith(
        "Node table incomplete: 2 day(s) missing between 2024-01-01 and 2024-01-20 (region b, 10 % of its 20 days; "
        "e.g. ['2024-01-03', '2024-01-04'])"
    )


def test_rows_without_a_date_or_a_unit_value_are_named_not_lost():
    from ici_assets.checks.coverage import coverage_check

    frame = panel().astype({"region": object})
    frame.loc[3, "region"] = None  # a row whose region is null: a unit of its own ("nan"), one day long
    frame.loc[7, "date"] = pd.NaT
    outcome = coverage_check(spec(time_column="date"), frame)
    assert not outcome.passed and "1 row(s) with no date" in outcome.description
    assert outcome.metadata["n_units"] == 4 and "region nan starts on 2024-01-02" in outcome.description
