"""Time grains: the period one row of a unit stands for (``meta.ici.time_grain``: day, week or month).

Node tables hold one row per unit and period, dated by ``time_column``. A weekly table may date
its weeks by any weekday (Monday starts, Sunday ends...), as long as it is the same one for every
row; a monthly table may use any day of the month. Checks, contributions and charts read periods
through these functions, so they follow the grain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


#: The period over which the contributions chart sums a model's rows, per grain.
CHART_PERIOD = {"day": "week", "week": "week", "month": "month"}
_FREQ = {"day": "D", "week": "7D", "month": "MS"}


def periods(times: pd.Series, grain: str) -> pd.Series:
    """Each row's period, as the timestamp of its start: the day; the 7-day week counted from the
    earliest row's date; the calendar month."""
    import pandas as pd

    t = pd.to_datetime(times)
    if grain == "month":
        return t.dt.to_period("M").dt.start_time
    day = t.dt.normalize()
    if grain == "week":
        first = day.min()
        return first + pd.to_timedelta((day - first).dt.days // 7 * 7, unit="D")
    return day


def expected_periods(first: pd.Timestamp, last: pd.Timestamp, grain: str) -> pd.DatetimeIndex:
    """Every period between two period starts (inclusive), at the grain."""
    import pandas as pd

    return pd.date_range(first, last, freq=_FREQ[grain])


def period_numbers(starts: pd.Series, first: pd.Timestamp, grain: str) -> pd.Series:
    """Each period start's position on the calendar of the grain counted from ``first`` (0, 1, ...): the index
    into ``expected_periods(first, ..., grain)``."""
    if grain == "month":
        return (starts.dt.year - first.year) * 12 + (starts.dt.month - first.month)
    days = (starts - first).dt.days
    return days // 7 if grain == "week" else days


def off_grain(times: pd.Series, grain: str) -> pd.Series:
    """Rows of a weekly table not dated on the weekday of its first row (their week is ambiguous)."""
    import pandas as pd

    t = pd.to_datetime(times)
    if grain != "week":
        return t.iloc[:0]
    return t[t.dt.normalize() != periods(t, grain)]


def chart_periods(times: pd.Series, grain: str) -> pd.Series:
    """Each row's bar or point on a chart over time: days are summed per calendar week."""
    import pandas as pd

    t = pd.to_datetime(times)
    return t.dt.to_period("M" if CHART_PERIOD[grain] == "month" else "W").dt.start_time
