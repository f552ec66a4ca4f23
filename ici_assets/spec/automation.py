"""The ``automation`` block: when a model's ICI assets materialise by themselves (Dagster's Declarative Automation).

    automation:
      whole_period: eager        # scm, shares, comparison and decision assets: when the node table has new data
                                 # and every upstream blocking check passed; off: only when launched
      monthly: "0 6 1 * *"       # the monthly partitions: on this cron (a month has closed), once the node table
                                 # was refreshed after the tick; off
      segments: eager            # the segment partitions (one per region): on new data, and new segments; off
      stale_after_periods: 2     # the shares' freshness policy: stale after this many periods of the model's
                                 # grain without a refresh (a daily model: 2 days); 0: no policy

A model's meta overrides, key by key, the defaults the component's ``automation:`` attribute gives every model;
that attribute also sets the automation sensor the daemon evaluates (``sensor_interval_seconds``,
``sensor_running``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: A five-field cron expression (minute hour day-of-month month day-of-week), as Dagster's ``on_cron`` takes.
_CRON = re.compile(r"^\s*[\d*/,\-A-Za-z?LW#]+(\s+[\d*/,\-A-Za-z?LW#]+){4}\s*$")
#: Days one period of each grain spans, for the freshness policy.
PERIOD_DAYS = {"day": 1, "week": 7, "month": 31}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AutomationMeta(_Strict):
    """When a model's ICI assets materialise without a launch (evaluated by the Dagster daemon)."""

    whole_period: Literal["eager", "off"] = Field(
        default="eager",
        description="The whole-period assets (scm, shares, comparison, decisions): eager = when their upstream "
        "has new data and every upstream blocking check passed; off = only when launched.",
    )
    monthly: str = Field(
        default="0 6 1 * *",
        description="The monthly partitions: a cron (five fields, UTC) at which the month that has just closed is "
        "computed, once the node table was refreshed after the tick; off = only when launched.",
    )
    segments: Literal["eager", "off"] = Field(
        default="eager",
        description="The segment partitions (one per region): eager = when the node table has new data, and for "
        "new segments; off = only when launched.",
    )
    stale_after_periods: int = Field(
        default=2,
        ge=0,
        description="Freshness policy of the shares: stale after this many periods of the model's time_grain "
        "without a refresh (a daily model: 2 days); 0 = no policy.",
    )

    @field_validator("monthly")
    @classmethod
    def _cron_or_off(cls, value: str) -> str:
        if value != "off" and not _CRON.match(value):
            raise ValueError(f"must be a five-field cron expression such as '0 6 1 * *', or off; got {value!r}")
        return value


class AutomationSettings(AutomationMeta):
    """The component's ``automation`` attribute: every model's defaults, and the sensor that evaluates them."""

    sensor_interval_seconds: int = Field(
        default=30, ge=5, description="How often the daemon evaluates the ICI assets' automation conditions."
    )
    sensor_running: bool = Field(
        default=True,
        description="Whether the automation sensor runs as soon as the code location loads (false: start it in "
        "the UI, under Automation).",
    )

    def model_defaults(self) -> dict[str, object]:
        """The per-model keys set in the attribute, as defaults under each model's ``automation`` meta."""
        return self.model_dump(include=set(AutomationMeta.model_fields), exclude_unset=True)
