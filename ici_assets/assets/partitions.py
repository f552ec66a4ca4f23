"""How each partitioned ICI asset selects its rows: a trailing window per month, or one segment value.

A run may cover many partitions (a single-run backfill). It reads the node table once with
:meth:`read_filter` over all of them and cuts each partition's rows out of that frame with
:meth:`slices`; the rows, their order and their dtypes are those a run of that partition alone
would read, so the numbers are the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

from ici_assets.spec.model import IciSpec
from ici_assets.warehouse import Filter, OneOf, TimeRange

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class MonthlyWindows:
    """One partition per month, each fitted on the ``window_months`` months ending with it."""

    spec: IciSpec
    kind: str = "month"

    @property
    def time_column(self) -> str:
        assert self.spec.time_column, "monthly partitions need meta.ici.time_column (checked when the meta is parsed)"
        return self.spec.time_column

    @property
    def name(self) -> str:
        return "shares_by_month"

    @property
    def window_months(self) -> int:
        monthly = self.spec.partitions.monthly
        assert monthly is not None, "built only for models whose meta asks for monthly partitions"
        return monthly.window_months

    def partitions_def(self) -> dg.PartitionsDefinition:
        monthly = self.spec.partitions.monthly
        assert monthly is not None
        return dg.MonthlyPartitionsDefinition(start_date=monthly.start, end_date=monthly.end)

    def window(self, key: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """[start, end) of the trailing window of the month starting on ``key`` (YYYY-MM-01): the rows
        dated in it, whatever the model's grain (days, weeks or months)."""
        import pandas as pd

        end = pd.Timestamp(key) + pd.DateOffset(months=1)
        return end - pd.DateOffset(months=self.window_months), end

    def read_filter(self, keys: Sequence[str]) -> Filter:
        windows = [self.window(k) for k in keys]
        return TimeRange(self.time_column, min(s for s, _ in windows).date(), max(e for _, e in windows).date())

    def slices(self, frame: pd.DataFrame, keys: Sequence[str]) -> Iterator[tuple[str, pd.DataFrame]]:
        import pandas as pd

        times = pd.to_datetime(frame[self.time_column])
        for key in keys:
            start, end = self.window(key)
            yield key, frame[(times >= start) & (times < end)].reset_index(drop=True)

    def label(self, key: str) -> str:
        start, end = self.window(key)
        return f"{start.date()} to {end.date()} (exclusive)"


@dataclass(frozen=True)
class Segments:
    """One dynamic partition per value of the segment column (registered by the SCM asset)."""

    spec: IciSpec

    @property
    def column(self) -> str:
        assert self.spec.partitions.segment
        return self.spec.partitions.segment

    @property
    def kind(self) -> str:
        return self.column

    @property
    def name(self) -> str:
        return f"shares_by_{self.column}"

    def partitions_def(self) -> dg.DynamicPartitionsDefinition:
        return dg.DynamicPartitionsDefinition(name=f"{self.spec.model}__{self.column}")

    def read_filter(self, keys: Sequence[str]) -> Filter:
        return OneOf(self.column, tuple(keys))

    def slices(self, frame: pd.DataFrame, keys: Sequence[str]) -> Iterator[tuple[str, pd.DataFrame]]:
        groups = dict(iter(frame.groupby(frame[self.column].astype(str), sort=False)))
        for key in keys:
            group = groups.get(key)
            yield key, (group.reset_index(drop=True) if group is not None else frame.iloc[:0])

    def label(self, key: str) -> str:
        return f"{self.column} = {key}"


Scheme = MonthlyWindows | Segments


def schemes(spec: IciSpec) -> list[Scheme]:
    """The partitioned assets the model's meta asks for."""
    out: list[Scheme] = []
    if spec.partitions.monthly is not None:
        out.append(MonthlyWindows(spec))
    if spec.partitions.segment:
        out.append(Segments(spec))
    return out
