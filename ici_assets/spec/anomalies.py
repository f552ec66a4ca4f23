"""The `anomalies` block of a model's `ici` meta: the opt-in asset explaining the latest unit-periods.

    anomalies:
      periods: 7          # the most recent 7 periods of every unit (needs meta.ici.time_column)
      threshold: 6.9      # flag a unit-period whose anomaly score reaches this (default: -log 0.001)
      webhook: https://hooks.example.com/ici   # optional: the sensor posts flagged periods here

The score is DoWhy's information-theoretic one, -log P(g(Y) >= g(y)) with g the two-sided quantile of the
target under the fitted model: 6.9 means fewer than 1 in 1,000 ordinary unit-periods lie as far out.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Default flag threshold: -log(0.001), rounded (engine.anomalies.DEFAULT_THRESHOLD, without importing the engine).
DEFAULT_THRESHOLD = round(-math.log(1e-3), 1)


class AnomaliesMeta(BaseModel):
    """Which unit-periods the anomalies asset explains, when it flags one, and where it posts the flags."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    periods: int = Field(ge=1, description="Explain the most recent N periods of every unit (each unit's own last N).")
    threshold: float = Field(
        default=DEFAULT_THRESHOLD,
        gt=0,
        description="Flag a unit-period whose anomaly score (-log of its tail probability) reaches this; "
        "6.9: fewer than 1 in 1,000 ordinary unit-periods lie as far from the target's median.",
    )
    webhook: str | None = Field(
        default=None, description="URL the anomalies sensor posts flagged unit-periods to (JSON); none: no alert."
    )

    @field_validator("webhook")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value
