"""Lift tests as data: one row per experiment (geo lift, conversion lift, holdout), validated at the boundary.

Columns (issue 22): ``node`` (the spend node tested), ``unit`` (the unit it ran in, as the model's unit value; null
for all units), ``start_period`` and ``end_period`` (inclusive), ``spend_change`` (the extra spend over the test,
in the node's unit: EUR), ``lift`` (the measured change of the target over the test, in the target's unit) and
``lift_se`` (its standard error). Every error names the row (its index label) and what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

LIFT_TEST_COLUMNS = ["node", "unit", "start_period", "end_period", "spend_change", "lift", "lift_se"]


def _periods(values: Any) -> Any:
    """Periods as comparable values: datetimes when they parse as dates, else the values themselves."""
    series = pd.Series(values)
    if pd.api.types.is_numeric_dtype(series):
        return series
    try:
        return pd.to_datetime(series)
    except (ValueError, TypeError):
        return series


def format_period(value: Any) -> str:
    """A period for messages: a date without its midnight time, anything else as it is."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else str(stamp)
    return str(value)


def _describe(label: Any, row: pd.Series) -> str:
    unit = "all units" if pd.isna(row["unit"]) else f"unit {row['unit']!r}"
    span = f"{format_period(row['start_period'])} to {format_period(row['end_period'])}"
    return f"lift test row {label!r} (node {row['node']!r}, {unit}, {span})"


def validate_lift_tests(
    tests: pd.DataFrame,
    nodes: Iterable[Any],
    *,
    periods: Iterable[Any] | None = None,
    units: Iterable[Any] | None = None,
) -> pd.DataFrame:
    """The lift tests, checked: every node a graph node, every unit (when ``units`` are given) a known unit, the
    periods ordered and (when ``periods`` are given: the data's periods) inside the data, ``spend_change`` finite and
    non-zero, ``lift`` finite, ``lift_se`` finite and positive, and no two tests on one node overlapping in time in
    the same unit (a test on all units overlaps every unit). Raises ValueError listing every bad row; returns a copy
    with the period columns parsed (dates when they parse as dates)."""
    missing = [c for c in LIFT_TEST_COLUMNS if c not in tests.columns]
    if missing:
        raise ValueError(
            f"lift tests lack column(s) {missing!r}: a lift test table has the columns {', '.join(LIFT_TEST_COLUMNS)}"
        )
    out = tests.copy()
    out["start_period"] = _periods(tests["start_period"]).to_numpy()
    out["end_period"] = _periods(tests["end_period"]).to_numpy()
    known = list(nodes)
    unit_set = None if units is None else set(units)
    span = None
    if periods is not None:
        data_periods = _periods(list(periods))
        span = (data_periods.min(), data_periods.max())
    problems: list[str] = []
    for pos, (label, row) in enumerate(out.iterrows()):
        what = _describe(label, tests.iloc[pos])
        if row["node"] not in known:
            problems.append(f"{what}: unknown node {row['node']!r}; use one of {', '.join(map(repr, known))}")
        if unit_set is not None and not pd.isna(row["unit"]) and row["unit"] not in unit_set:
            problems.append(f"{what}: unknown unit {row['unit']!r}; use a unit of the data or null for all units")
        start, end = row["start_period"], row["end_period"]
        if pd.isna(start) or pd.isna(end):
            problems.append(f"{what}: start_period and end_period are required")
        elif start > end:
            problems.append(f"{what}: start_period is after end_period; swap them")
        elif span is not None and (start < span[0] or end > span[1]):
            problems.append(
                f"{what}: period outside the data ({span[0]} to {span[1]}); drop the test or load its periods"
            )
        for column, rule in (("spend_change", "non-zero"), ("lift", "finite"), ("lift_se", "positive")):
            value = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
            bad = not np.isfinite(value) or (rule == "non-zero" and value == 0) or (rule == "positive" and value <= 0)
            if bad:
                label_rule = "a positive standard error" if rule == "positive" else f"a {rule} number"
                problems.append(f"{what}: {column} must be {label_rule}, got {row[column]!r}")
    problems += _overlaps(out, tests)
    if problems:
        raise ValueError("; ".join(problems))
    for column in ("spend_change", "lift", "lift_se"):
        out[column] = pd.to_numeric(out[column]).astype(float)
    return out


def _overlaps(parsed: pd.DataFrame, raw: pd.DataFrame) -> list[str]:
    """One message per pair of tests on one node whose periods intersect in a shared unit."""
    problems: list[str] = []
    labels = list(parsed.index)
    for i, a in enumerate(labels):
        for j in range(i + 1, len(labels)):
            b = labels[j]
            ra, rb = parsed.iloc[i], parsed.iloc[j]
            if ra["node"] != rb["node"] or pd.isna(ra["start_period"]) or pd.isna(rb["start_period"]):
                continue
            same_unit = pd.isna(ra["unit"]) or pd.isna(rb["unit"]) or ra["unit"] == rb["unit"]
            try:
                intersect = ra["start_period"] <= rb["end_period"] and rb["start_period"] <= ra["end_period"]
            except TypeError:
                continue
            if same_unit and intersect:
                problems.append(
                    f"{_describe(b, raw.iloc[j])}: overlaps lift test row {a!r} on the same node and unit; "
                    "one intervention per node and unit at a time (merge them or drop one)"
                )
    return problems
