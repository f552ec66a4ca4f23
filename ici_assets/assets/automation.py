"""When a model's ICI assets materialise by themselves: Declarative Automation conditions, the shares' freshness
policy, and the sensor the daemon evaluates them with (settings: :mod:`ici_assets.spec.automation`).

- Whole-period assets: ``eager`` (a dependency updated, none missing or in progress) and every dependency's
  blocking checks passed, so a node table that failed its dbt tests, or a fit that failed its checks, starts
  nothing downstream.
- Monthly partitions: ``on_cron`` (the latest month, once the cron tick has passed and the node table was
  refreshed after it), with the same guard.
- Segment partitions: ``eager`` (new data; a newly registered segment is newly missing), with the same guard.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import dagster as dg

from ici_assets.spec.automation import PERIOD_DAYS, AutomationSettings
from ici_assets.spec.model import IciSpec

_CHECKS_PASSED = dg.AutomationCondition.all_deps_blocking_checks_passed()


def automation_condition(
    spec: IciSpec, partitions_def: dg.PartitionsDefinition | None
) -> dg.AutomationCondition | None:
    """The condition of one of the model's ICI assets (by its partitioning), or None where the meta says off."""
    settings = spec.automation
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        if settings.monthly == "off":
            return None
        return (dg.AutomationCondition.on_cron(settings.monthly) & _CHECKS_PASSED).with_label(
            f"on cron {settings.monthly} after upstream checks pass"
        )
    mode = settings.segments if partitions_def is not None else settings.whole_period
    if mode == "off":
        return None
    return (dg.AutomationCondition.eager() & _CHECKS_PASSED).with_label("eager after upstream checks pass")


def shares_freshness(spec: IciSpec) -> dg.FreshnessPolicy | None:
    """Stale after ``stale_after_periods`` periods of the model's grain without a refresh (None: no policy)."""
    periods = spec.automation.stale_after_periods
    if periods == 0:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(days=periods * PERIOD_DAYS[spec.time_grain]))


def automation_sensor(
    name: str, assets: Iterable[dg.AssetsDefinition], settings: AutomationSettings | None
) -> dg.AutomationConditionSensorDefinition | None:
    """The sensor evaluating the conditions of ``assets`` (None when none has one)."""
    settings = settings or AutomationSettings()
    keys = [k for a in assets for k, c in a.automation_conditions_by_key.items() if c is not None]
    if not keys:
        return None
    return dg.AutomationConditionSensorDefinition(
        name,
        target=dg.AssetSelection.assets(*keys),
        default_status=(dg.DefaultSensorStatus.RUNNING if settings.sensor_running else dg.DefaultSensorStatus.STOPPED),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        description="Materialises the ICI assets when their node table has new data (and the monthly partitions "
        "when a month closes), as each model's `automation` meta says; nothing runs after a failed blocking check.",
    )
