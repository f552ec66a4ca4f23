"""The `experiments` block of a model's `ici` meta: the dbt model (or seed) holding the team's lift tests.

    experiments:
      model: lift_tests   # one row per test: node, unit, start_period, end_period, spend_change, lift, lift_se

The SCM is then calibrated so that the effect it implies for each test agrees with the measurement
(``ici_assets.engine.calibrate_scm``; docs/engine.md, "Calibrating to lift tests").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ExperimentsMeta(BaseModel):
    """Where the lift tests live: a dbt model with the columns of ``engine.experiments.LIFT_TEST_COLUMNS``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    model: str = Field(
        min_length=1,
        description="The dbt model (or seed) holding one row per lift test: node, unit (null: all units), "
        "start_period, end_period, spend_change, lift and lift_se (the lift's standard error).",
    )
