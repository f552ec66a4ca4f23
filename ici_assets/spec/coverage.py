"""The `coverage` block of a model's `ici` meta: which gaps of a panel the `node_table_coverage` check accepts.

    coverage:
      staggered_units: true      # units may start and end at different periods (a region opening later)
      max_missing_share: 0.02    # per unit, periods missing between its own first and last, as a share

Off by default (a rectangle: every unit in every period from the table's first to its last). The
engine needs no rectangle: its block bootstrap resamples periods with whatever units they hold, and
contributions and partitions follow the rows that exist; the setting only says which gaps are expected.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CoverageMeta(BaseModel):
    """Which gaps of the node table the `node_table_coverage` check accepts (default: none, a full rectangle)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    staggered_units: bool = Field(
        default=False,
        description=(
            "Units may start and end at different periods (a region that opens later, a store that closes); each "
            "unit is then judged between its own first and last period. Off: every unit spans the whole table."
        ),
    )
    max_missing_share: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description=(
            "Per unit, the largest share of its periods (between its first and last) that may be missing, e.g. "
            "0.02 for a few days of tracking outage in a year and a half."
        ),
    )
