"""The component's attributes are typed: dg sees each setting's schema, and a bad key is refused at load, named."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from ici_assets.compute import POOL_KINDS, PoolSettings
from ici_assets.spec.meta import IciSettings
from ici_assets.spec.model import IciMetaError


def attribute_schemas() -> dict:
    from ici_assets import IciDbtProjectComponent

    return IciDbtProjectComponent.get_model_cls().model_json_schema()["properties"]


def typed_branch(schema: dict) -> dict:
    """The object branch of an optional attribute (``anyOf: [object, null]``)."""
    return next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "object")


def test_ici_defaults_schema_lists_the_meta_settings_and_nothing_else():
    branch = typed_branch(attribute_schemas()["ici_defaults"])
    assert branch["additionalProperties"] is False
    assert set(branch["properties"]) == set(IciSettings.model_fields)
    assert {"n_bootstrap", "time_grain", "mechanisms", "seed", "checks"} <= set(branch["properties"])
    assert branch["properties"]["n_bootstrap"]["minimum"] == 0 and branch["properties"]["n_bootstrap"]["default"] == 200
    checks = branch["properties"]["checks"]
    assert checks["additionalProperties"] is False and "min_r2" in checks["properties"]  # nested, inlined
    assert "$ref" not in json.dumps(branch)


def test_compute_pool_schema_names_the_kinds_once():
    branch = typed_branch(attribute_schemas()["compute_pool"])
    assert branch["additionalProperties"] is False
    assert tuple(branch["properties"]["kind"]["enum"]) == POOL_KINDS == ("local", "dask", "inline")
    assert set(branch["properties"]) == set(PoolSettings.model_fields)


@pytest.mark.slow
def test_dg_inspect_component_shows_the_typed_attributes():
    """What users' editors and `dg check` see (the issue's command)."""
    done = subprocess.run(
        [sys.executable, "-m", "dagster_dg_cli", "utils", "inspect-component", "ici_assets.IciDbtProjectComponent",
         "--defs-yaml-json-schema"],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0 and "No module named dagster_dg_cli.__main__" in done.stderr:
        done = subprocess.run(
            ["dg", "utils", "inspect-component", "ici_assets.IciDbtProjectComponent", "--defs-yaml-json-schema"],
            capture_output=True, text=True,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    attributes = json.loads(done.stdout)["properties"]["attributes"]
    props = attributes["properties"] if "properties" in attributes else attributes
    branch = typed_branch(props["ici_defaults"])
    assert branch["additionalProperties"] is False and "n_bootstrap" in branch["properties"]


def load_error(attributes: str) -> str:
    """The error chain of loading a defs.yaml of the component with these attributes (Dagster's own sandbox)."""
    from dagster.components.testing import create_defs_folder_sandbox

    with create_defs_folder_sandbox() as sandbox:
        (sandbox.project_root / "dbt").mkdir()
        (sandbox.project_root / "dbt" / "dbt_project.yml").write_text("name: p\nprofile: p\n")
        folder = sandbox.defs_folder_path / "ici"
        folder.mkdir(parents=True)
        (folder / "defs.yaml").write_text(
            "type: ici_assets.IciDbtProjectComponent\nattributes:\n"
            '  project: "{{ context.project_root }}/dbt"\n' + textwrap.indent(attributes, "  ")
        )
        with pytest.raises(Exception) as info, sandbox.load_component_and_build_defs(defs_path=folder):
            pass
    chain, error = [], info.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    return "\n".join(chain)


def test_a_misspelt_ici_defaults_key_in_defs_yaml_is_refused_with_the_closest_key():
    message = load_error("ici_defaults: {n_boostrap: 3}\n")
    assert "unknown key 'ici_defaults.n_boostrap': did you mean 'n_bootstrap'?" in message, message


def test_an_unknown_pool_kind_in_defs_yaml_is_refused_naming_the_kinds():
    message = load_error("compute_pool: {kind: ray}\n")
    assert "compute_pool.kind" in message and "'local', 'dask' or 'inline'" in message, message


def test_python_construction_validates_the_same_way():
    from ici_assets.component.attributes import validate_attribute

    assert validate_attribute(IciSettings, {"time_grain": "week"}, "ici_defaults").time_grain == "week"
    with pytest.raises(IciMetaError, match=r"unknown key 'compute_pool.max_worker': did you mean 'max_workers'"):
        validate_attribute(PoolSettings, {"max_worker": 2}, "compute_pool")


def test_automation_schema_lists_the_model_defaults_and_the_sensor_settings():
    from ici_assets.spec.automation import AutomationMeta, AutomationSettings

    branch = typed_branch(attribute_schemas()["automation"])
    assert branch["additionalProperties"] is False
    assert set(branch["properties"]) == set(AutomationSettings.model_fields) > set(AutomationMeta.model_fields)
    assert branch["properties"]["whole_period"]["enum"] == ["eager", "off"]


def test_a_misspelt_automation_key_in_defs_yaml_is_refused_with_the_closest_key():
    message = load_error("automation: {sensor_intervl_seconds: 5}\n")
    assert "unknown key 'automation.sensor_intervl_seconds': did you mean 'sensor_interval_seconds'?" in message
