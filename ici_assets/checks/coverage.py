"""The `node_table_coverage` check, judged unit by unit: one row per unit and period, from each unit's first period
to its last (``meta.ici.coverage`` says which gaps are expected).

:func:`unit_coverage` is the pure part: per unit (the values of the ``unit`` columns, joined by ``/``) its first
and last period, how many periods it misses between them (and the first few), its duplicate rows, and the periods
missing for every unit. :func:`coverage_check` turns that into a verdict whose message names the units and the
periods, and the setting that would accept them when accepting them is a choice the user can make.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ici_assets.checks.ici import CheckOutcome
from ici_assets.spec.coverage import CoverageMeta
from ici_assets.spec.grain import expected_periods, off_grain, period_numbers
from ici_assets.spec.grain import periods as grain_periods

if TYPE_CHECKING:
    import pandas as pd

    from ici_assets.spec.model import IciSpec

EXAMPLES = 5  # missing periods shown per unit
SHOWN_UNITS = 5  # units named per problem


@dataclass(frozen=True)
class UnitCoverage:
    """One unit's periods: first and last (YYYY-MM-DD), how many it has and spans, its gaps and duplicates.

    ``start_offset`` / ``end_offset``: periods between the table's first period and the unit's first (its late
    start), and between the unit's last and the table's last (its early end). ``missing`` counts the periods
    absent between the unit's first and last; ``examples`` are the first few of them."""

    unit: str
    first: str
    last: str
    n_periods: int
    span: int
    start_offset: int
    end_offset: int
    duplicates: int = 0
    examples: tuple[str, ...] = ()
    duplicate_examples: tuple[str, ...] = ()

    @property
    def missing(self) -> int:
        return self.span - self.n_periods

    @property
    def missing_share(self) -> float:
        """Missing periods over the periods from the unit's first to its last."""
        return self.missing / self.span if self.span else 0.0


@dataclass(frozen=True)
class PanelCoverage:
    """Every unit's coverage, the table's first and last period, and the periods no unit has."""

    units: tuple[UnitCoverage, ...]
    first: str
    last: str
    n_calendar: int  # periods from the table's first to its last
    n_periods: int  # distinct periods with at least one row
    common_missing: tuple[str, ...]  # periods between first and last missing for every unit (all of them)


def unit_coverage(
    frame: pd.DataFrame, unit_columns: list[str], time_column: str, grain: str, *, n_examples: int = EXAMPLES
) -> PanelCoverage:
    """Per-unit coverage of a node table (at least one row) at the grain (day, week or month)."""
    import numpy as np
    import pandas as pd

    starts = grain_periods(frame[time_column], grain)
    first, last = starts.min(), starts.max()
    calendar = expected_periods(first, last, grain)
    number = period_numbers(starts, first, grain).to_numpy(dtype=np.int64)
    if unit_columns:
        codes, uniques = pd.MultiIndex.from_frame(frame[unit_columns]).factorize(sort=True, use_na_sentinel=False)
        labels = ["/".join(map(str, u)) for u in uniques]
    else:
        codes, labels = np.zeros(len(frame), dtype=np.int64), [""]
    n_cal = len(calendar)
    pairs, counts = np.unique(codes.astype(np.int64) * n_cal + number, return_counts=True)
    unit_of, period_of = pairs // n_cal, pairs % n_cal
    bounds = np.searchsorted(unit_of, np.arange(len(labels) + 1))
    present = np.zeros(n_cal, dtype=bool)
    present[period_of] = True

    def dates(positions: np.ndarray) -> tuple[str, ...]:
        return tuple(str(d.date()) for d in calendar[positions])

    units = []
    for u, label in enumerate(labels):
        own, rows = period_of[bounds[u] : bounds[u + 1]], counts[bounds[u] : bounds[u + 1]]
        lo, hi = int(own[0]), int(own[-1])
        span = hi - lo + 1
        gaps = np.setdiff1d(np.arange(lo, hi + 1), own)[:n_examples] if span > len(own) else own[:0]
        units.append(
            UnitCoverage(
                unit=label,
                first=str(calendar[lo].date()),
                last=str(calendar[hi].date()),
                n_periods=len(own),
                span=span,
                start_offset=lo,
                end_offset=n_cal - 1 - hi,
                duplicates=int((rows - 1).sum()),
                examples=dates(gaps),
                duplicate_examples=dates(own[rows > 1][:n_examples]),
            )
        )
    return PanelCoverage(
        units=tuple(units),
        first=str(first.date()),
        last=str(last.date()),
        n_calendar=n_cal,
        n_periods=int(present.sum()),
        common_missing=dates(np.flatnonzero(~present)),
    )


def _listed(items: list[str]) -> str:
    """The first few items, and how many more."""
    more = len(items) - SHOWN_UNITS
    return ", ".join(items[:SHOWN_UNITS]) + (f" and {more} more" if more > 0 else "")


def _pct(share: float) -> str:
    return f"{100 * share:.2g} %" if share < 0.1 else f"{100 * share:.0f} %"


def coverage_problems(
    panel: PanelCoverage, setting: CoverageMeta, grain: str, unit_columns: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """(problems, what the table holds that the setting accepted, hints): sentences naming units and periods."""
    what = "/".join(unit_columns)
    name = (lambda u: f"{what} {u.unit}") if unit_columns else (lambda u: "the series")
    problems: list[str] = []
    accepted: list[str] = []
    hints: list[str] = []
    dup = [u for u in panel.units if u.duplicates]
    if dup:
        problems.append(
            f"{sum(u.duplicates for u in dup)} duplicate row(s) (one row per unit and {grain} expected): "
            + _listed([f"{name(u)} on {', '.join(u.duplicate_examples)}" for u in dup])
        )
        hints.append(f"is time_grain '{grain}' right, and is every unit column in meta.ici.unit?")
    late = [u for u in panel.units if u.start_offset]
    early = [u for u in panel.units if u.end_offset]
    after = f"{grain}(s) after the table's first {grain}"
    edges = [f"{name(u)} starts on {u.first}, {u.start_offset} {after}" for u in late]
    edges += [f"{name(u)} ends on {u.last}, {u.end_offset} {grain}(s) before the table's last {grain}" for u in early]
    if edges and setting.staggered_units:
        accepted.append(_listed(edges))
    elif edges:
        problems.append(f"not every unit spans {panel.first} to {panel.last}: " + _listed(edges))
        hints.append(
            "if units open or close at different times, set coverage: {staggered_units: true} in the model's ici meta"
        )
    common = set(panel.common_missing)
    over = [u for u in panel.units if u.missing_share > setting.max_missing_share]
    within = [u for u in panel.units if 0 < u.missing_share <= setting.max_missing_share]
    if len(panel.units) == 1 and over:  # one series (or one unit's partition): its gaps are the table's
        u = over[0]
        who = f"{name(u)}, " if unit_columns else ""
        problems.append(
            f"{u.missing} {grain}(s) missing between {u.first} and {u.last} ({who}{_pct(u.missing_share)} of its "
            f"{u.span} {grain}s; e.g. {list(u.examples)})"
        )
    elif over:
        if common:
            problems.append(
                f"{len(common)} {grain}(s) missing for every unit between {panel.first} and {panel.last} "
                f"(e.g. {sorted(common)[:EXAMPLES]})"
            )
        own = [u for u in over if u.missing > sum(u.first <= d <= u.last for d in common)]
        if own:
            problems.append(
                f"{grain}(s) missing inside a unit's span, beyond coverage.max_missing_share "
                f"{setting.max_missing_share:g}: "
                + _listed(
                    [
                        f"{name(u)} misses {u.missing} of its {u.span} {grain}s from {u.first} to {u.last} "
                        f"({_pct(u.missing_share)}: {', '.join(u.examples)}"
                        f"{', ...' if u.missing > len(u.examples) else ''})"
                        for u in own
                    ]
                )
            )
    if over:
        worst = max(u.missing_share for u in over)
        if worst > 0.5:
            hints.append(f"is time_grain '{grain}' right? most {grain}s are missing")
        else:
            hints.append(
                f"to accept a few missing {grain}s per unit, set coverage: {{max_missing_share: ...}} "
                f"(the largest share here: {worst:.4f})"
            )
    if within:
        missing = sum(u.missing for u in within)
        accepted.append(
            f"{missing} missing {grain}(s) in {len(within)} unit(s), within max_missing_share "
            f"{setting.max_missing_share:g} (" + _listed([f"{name(u)}: {', '.join(u.examples)}" for u in within]) + ")"
        )
    return problems, accepted, hints


def coverage_check(spec: IciSpec, frame: pd.DataFrame) -> CheckOutcome:
    """Enough rows, and (with a time column) one row per unit and period (``time_grain``) from each unit's first
    period to its last: the table's first and last unless ``coverage.staggered_units``, with at most
    ``coverage.max_missing_share`` of them missing."""
    problems: list[str] = []
    accepted: list[str] = []
    hints: list[str] = []
    if len(frame) < spec.checks.min_rows:
        problems.append(f"{len(frame)} rows < minimum {spec.checks.min_rows}")
    meta: dict[str, Any] = {"n_rows": len(frame)}
    grain = spec.time_grain
    units = [u for u in spec.unit if u != spec.time_column and u in frame]
    if spec.time_column and spec.time_column in frame:
        undated = frame[spec.time_column].isna()
        if undated.any():
            problems.append(f"{int(undated.sum())} row(s) with no {spec.time_column}")
            frame = frame[~undated]
    if spec.time_column and spec.time_column in frame and len(frame):
        panel = unit_coverage(frame, units, spec.time_column, grain)
        found, accepted, hints = coverage_problems(panel, spec.coverage, grain, units)
        problems += found
        meta.update(
            time_grain=grain,
            first_period=panel.first,
            last_period=panel.last,
            n_periods=panel.n_periods,
            n_units=len(panel.units),
            missing_periods=len(panel.common_missing),
            missing_unit_periods=sum(u.missing for u in panel.units),
            max_missing_share=max(u.missing_share for u in panel.units),
            units_starting_late=sum(1 for u in panel.units if u.start_offset),
            units_ending_early=sum(1 for u in panel.units if u.end_offset),
            duplicate_rows=sum(u.duplicates for u in panel.units),
        )
        off = off_grain(frame[spec.time_column], grain)
        if len(off):
            problems.append(
                f"{len(off)} row(s) not dated on the weekday of the first week ({panel.first}), e.g. "
                f"{[str(d.date()) for d in off[:3]]}: date every row by the same weekday, or set time_grain: day"
            )
    scope = f"{grain} x unit" if units else f"{grain} (one series)"
    if problems:
        description = "Node table incomplete: " + "; ".join(problems) + ". Check the raw tables and dbt models"
        description += "; " + "; ".join(hints) + "." if hints else "."
    elif accepted:
        description = f"Every {scope} present from each unit's first to its last, except: " + "; ".join(accepted) + "."
    else:
        description = f"Every {scope} present."
    return CheckOutcome("node_table_coverage", not problems, description, meta)
