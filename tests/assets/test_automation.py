"""Automation: each ICI asset's condition, the shares' freshness policy and the sensor, from the component's
``automation`` attribute and each model's ``automation`` meta (no dbt, no daemon: see tests/e2e/test_automation.py)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from ici_assets.assets.factory import IciModel, ici_definitions
from ici_assets.assets.resources import ComputePoolResource, WarehouseResource
from ici_assets.checks.asset_checks import check_specs, publishable
from ici_assets.checks.stability import STABILITY_CHECK, warn_only
from ici_assets.compute import PoolSettings
from ici_assets.spec.automation import AutomationSettings
from ici_assets.spec.parse import IciMetaError, parse_model_spec
from ici_assets.warehouse import Relation

COLUMNS = {
    "date": {"name": "date", "meta": {}},
    "region": {"name": "region", "meta": {}},
    "spend": {"name": "spend", "meta": {"ici": {"parents": []}}},
    "clicks": {"name": "clicks", "meta": {"ici": {"parents": ["spend"]}}},
    "revenue": {"name": "revenue", "meta": {"ici": {"parents": ["clicks"]}}},
}
META = {
    "target": "revenue",
    "unit": ["region"],
    "time_column": "date",
    "partitions": {"monthly": {"start": "2025-01-01", "end": "2025-07-01"}, "segment": "region"},
    "decisions": {"spend_nodes": ["spend"]},
}


def definitions(meta_extra=None, automation=None, defaults=None):
    props = {
        "resource_type": "model",
        "name": "shop",
        "unique_id": "model.p.shop",
        "schema": "main",
        "config": {"meta": {"ici": {**META, **(meta_extra or {})}}},
        "columns": COLUMNS,
    }
    settings = AutomationSettings.model_validate(automation) if automation is not None else None
    merged = dict(defaults or {})
    if settings is not None and settings.model_defaults():
        merged["automation"] = settings.model_defaults()
    spec = parse_model_spec(props, merged or None)
    model = IciModel(spec, dg.AssetKey(["shop"]), Relation("main", "shop"))
    return ici_definitions(
        [model],
        {dg.AssetKey(["shop"])},
        warehouse=WarehouseResource(path=":memory:"),
        compute_pool=ComputePoolResource.of(PoolSettings(kind="inline")),
        automation=settings,
    )


def conditions(defs) -> dict[str, str | None]:
    graph = defs.resolve_asset_graph()
    return {
        "/".join(k.path[2:]): (
            graph.get(k).automation_condition.get_label() if graph.get(k).automation_condition else None
        )
        for k in graph.get_all_asset_keys()
        if k.path[0] == "ici"
    }


EAGER = "eager after upstream checks pass"


def test_defaults_whole_period_and_segments_eager_months_on_cron_all_after_checks():
    got = conditions(definitions())
    assert got == {
        "scm": EAGER,
        "shares": EAGER,
        "spend_response": EAGER,
        "budget": EAGER,
        "report": EAGER,  # re-rendered when the fit, the shares or a decision changes
        "shares_by_region": EAGER,
        "shares_by_month": "on cron 0 6 1 * * after upstream checks pass",
    }
    graph = definitions().resolve_asset_graph()
    condition = graph.get(dg.AssetKey(["ici", "shop", "shares"])).automation_condition
    # the guard is Dagster's own: a dependency whose blocking check failed starts nothing
    assert "all_deps_blocking_checks_passed" in str(condition.get_snapshot())


def test_the_sensor_targets_exactly_the_automated_assets_and_runs_by_default():
    defs = definitions()
    (sensor,) = defs.sensors
    assert sensor.name == "ici_automation"
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == 30
    targeted = sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert {"/".join(k.path[2:]) for k in targeted} == set(conditions(defs))


@pytest.mark.parametrize(("grain", "days"), [("day", 2), ("week", 14), ("month", 62)])
def test_the_shares_freshness_policy_follows_the_grain(grain, days):
    graph = definitions({"time_grain": grain}).resolve_asset_graph()
    policy = graph.get(dg.AssetKey(["ici", "shop", "shares"])).freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(days=days)
    assert graph.get(dg.AssetKey(["ici", "shop", "scm"])).freshness_policy is None
    none = definitions({"automation": {"stale_after_periods": 0}}).resolve_asset_graph()
    assert none.get(dg.AssetKey(["ici", "shop", "shares"])).freshness_policy is None


def test_component_defaults_and_the_models_meta_override_key_by_key():
    component = {"segments": "off", "monthly": "0 3 2 * *", "sensor_interval_seconds": 5, "sensor_running": False}
    defs = definitions(automation=component)
    got = conditions(defs)
    assert got["shares_by_region"] is None and got["shares_by_month"].startswith("on cron 0 3 2 * *")
    assert got["shares"] == EAGER
    (sensor,) = defs.sensors
    assert sensor.minimum_interval_seconds == 5 and sensor.default_status == dg.DefaultSensorStatus.STOPPED
    # the model's meta wins over the component's defaults, key by key (segments stays off)
    got = conditions(definitions({"automation": {"whole_period": "off", "monthly": "off"}}, automation=component))
    assert got == dict.fromkeys(got, None)
    assert definitions({"automation": {"whole_period": "off", "monthly": "off", "segments": "off"}}).sensors == []


@pytest.mark.parametrize(
    ("automation", "needle"),
    [
        ({"whole_perod": "off"}, "unknown key 'meta.ici.automation.whole_perod': did you mean 'whole_period'?"),
        ({"monthly": "monthly"}, "meta.ici.automation.monthly must be a five-field cron expression"),
        ({"segments": "lazy"}, "meta.ici.automation.segments: Input should be 'eager' or 'off'"),
    ],
)
def test_a_bad_automation_meta_is_refused_naming_the_key(automation, needle):
    with pytest.raises(IciMetaError, match="shop") as info:
        definitions({"automation": automation})
    assert needle in str(info.value), str(info.value)


def test_sensor_settings_are_refused_in_a_models_meta():
    with pytest.raises(IciMetaError, match="unknown key 'meta.ici.automation.sensor_interval_seconds'"):
        definitions({"automation": {"sensor_interval_seconds": 5}})


def test_shares_stable_warns_by_default_and_blocks_when_the_meta_says_so():
    key = dg.AssetKey(["ici", "shop", "shares"])
    moved = dg.AssetCheckResult(check_name=STABILITY_CHECK, passed=False)
    for setting, blocking in (("warn", False), ("block", True)):
        spec = parse_model_spec(
            {
                "resource_type": "model",
                "name": "shop",
                "unique_id": "model.p.shop",
                "schema": "main",
                "config": {"meta": {"ici": {**META, "checks": {"shares_stable": setting}}}},
                "columns": COLUMNS,
            }
        )
        (check,) = check_specs(key, [STABILITY_CHECK], warn=warn_only(spec))
        assert check.blocking is blocking
        assert publishable([moved], warn_only(spec)) is not blocking  # a warning still publishes
    graph = definitions().resolve_asset_graph()
    assert graph.get_check_spec(dg.AssetCheckKey(key, STABILITY_CHECK)).blocking is False
