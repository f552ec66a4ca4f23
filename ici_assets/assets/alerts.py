"""The anomalies alert: a sensor per model whose ``anomalies`` block names a ``webhook``.

``ici__<model>__anomalies_webhook`` watches ``ici/<model>/anomalies``; after each materialisation with flagged
unit-periods it posts them (the materialisation's ``flagged_periods`` metadata) to the webhook as JSON
(:mod:`ici_assets.publish.alerts`). It launches no run; it is on by default, and the daemon (``make dev``)
evaluates it. A post that fails fails the tick, and the next tick tries the same materialisation again.
"""

from typing import Any

import dagster as dg

from ici_assets.assets.anomalies import FLAGGED_KEY
from ici_assets.assets.args import ici_key
from ici_assets.publish.alerts import alert_payload, post_json
from ici_assets.spec.model import IciSpec


def anomalies_webhook_sensor(spec: IciSpec) -> dg.SensorDefinition:
    settings = spec.anomalies
    assert settings is not None and settings.webhook is not None
    url, key = settings.webhook, ici_key(spec, "anomalies")

    @dg.asset_sensor(
        asset_key=key,
        name=f"ici__{spec.model}__anomalies_webhook",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Posts the unit-periods `{key.to_user_string()}` flags to the webhook of the model's meta.",
    )
    def _sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry) -> Any:
        materialization = asset_event.asset_materialization
        entry = materialization.metadata.get(FLAGGED_KEY) if materialization is not None else None
        flagged = list(entry.value) if isinstance(entry, dg.JsonMetadataValue) and entry.value else []
        if not flagged:
            return dg.SkipReason(f"Run {asset_event.run_id}: no unit-period flagged, nothing posted.")
        payload = alert_payload(spec.model, key.to_user_string(), asset_event.run_id, flagged)
        status = post_json(url, payload)
        context.log.info(f"Posted {len(flagged)} flagged unit-period(s) (HTTP {status})")
        return dg.SkipReason(f"Run {asset_event.run_id}: posted {len(flagged)} flagged unit-period(s), HTTP {status}.")

    return _sensor
