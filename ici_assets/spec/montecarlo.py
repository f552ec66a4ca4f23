"""The `monte_carlo` block of a model's `ici` meta: the cap on the draws of every simulated estimate.

    monte_carlo:
      max_samples: 1000000     # simulated rows (change attribution: row pairs; nonlinear ICI: noise draws)

Simulated estimates (nonlinear ICI, spend response, budget, change attribution) add draws until their Monte
Carlo error is below the threshold of the check that reads it, or until every row is used (exact); the cap
bounds the time they may take. A check fails on Monte Carlo error only when the cap stopped the draws.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The engine's default cap (ici_assets.engine.montecarlo.DEFAULT_MAX_SAMPLES; a test keeps them equal).
DEFAULT_MAX_SAMPLES = 1_000_000


class MonteCarloMeta(BaseModel):
    """How far simulated estimates may grow to bring their Monte Carlo error below the checks' thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    max_samples: int = Field(
        default=DEFAULT_MAX_SAMPLES,
        ge=1,
        description=(
            "The most draws one simulated estimate may use (noise rows; change attribution: old-new row pairs; "
            "nonlinear ICI: noise draws). Draws are added until the Monte Carlo error is below the check's "
            "threshold (0.5 % of a decision's level; 0.25 points of an ICI share) or every row is used (exact)."
        ),
    )
