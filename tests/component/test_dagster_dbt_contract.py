"""What ici_assets.component.project takes from dagster-dbt beyond its public surface (written against 0.29.27).

Each test fails loudly, naming what moved, when an upgrade changes one of them; then adapt
``ici_assets/component/project.py`` (the one module that uses them) and this file together.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import dagster as dg
import pytest
from dagster_dbt import DbtProjectComponent

from ici_assets.component.project import PROJECT_KEY, IciDbtProjectComponent

WRITTEN_AGAINST = "0.29.27"


def test_the_dbt_step_pool_hook_is_still_get_op_spec():
    hook = getattr(DbtProjectComponent, "_get_op_spec", None)
    assert hook is not None, f"dagster-dbt {version('dagster-dbt')} has no DbtProjectComponent._get_op_spec"
    assert list(inspect.signature(hook).parameters) == ["self", "project"]
    assert IciDbtProjectComponent._get_op_spec is not DbtProjectComponent._get_op_spec  # we override it
    source = inspect.getsource(DbtProjectComponent.build_defs_from_state)
    assert "_get_op_spec(project)" in source and "pool=op_spec.pool" in source, (
        "dagster-dbt no longer takes the dbt step's pool from _get_op_spec: the one-writer pool would be lost"
    )


def test_the_op_spec_has_a_pool_and_copies_with_model_copy():
    from dagster_dbt.components.dbt_project.component import OpSpec

    spec = OpSpec(name="x")
    assert spec.pool is None and spec.model_copy(update={"pool": "p"}).pool == "p"


def test_project_resolves_to_the_args_manager_whose_profiles_dir_we_complete(tmp_path):
    """``project:`` in YAML becomes a DbtProjectArgsManager; the component fills its ``args.profiles_dir``."""
    import dataclasses

    from dagster_dbt.components.dbt_project.component import resolve_dbt_project
    from dagster_dbt.dbt_project_manager import DbtProjectArgsManager

    assert {f.name for f in dataclasses.fields(DbtProjectArgsManager)} == {"args"}
    assert "DbtProjectArgsManager(args)" in inspect.getsource(resolve_dbt_project)
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    (tmp_path / "profiles.yml").write_text("p: {target: dev, outputs: {dev: {type: duckdb, path: w.duckdb}}}\n")
    from dagster_dbt.components.dbt_project.component import DbtProjectArgs

    component = IciDbtProjectComponent(project=DbtProjectArgsManager(DbtProjectArgs(project_dir=str(tmp_path))))
    assert isinstance(component.project, DbtProjectArgsManager)
    assert component.project.args.profiles_dir == str(tmp_path)
    assert component.dbt_project.project_dir == tmp_path  # public: the project the manager gives


def test_asset_check_spec_still_copies_with_replace():
    spec = dg.AssetCheckSpec(name="c", asset="a", blocking=True)
    copy = spec._replace(description="d")
    assert (copy.description, copy.name, copy.blocking, copy.asset_key) == ("d", "c", True, dg.AssetKey("a"))


def test_the_project_metadata_key_is_unchanged():
    from dagster_dbt import asset_utils

    assert asset_utils.DAGSTER_DBT_PROJECT_METADATA_KEY == PROJECT_KEY


def test_installed_dagster_dbt_is_the_line_these_were_written_against():
    major_minor = version("dagster-dbt").split(".")[:2]
    if major_minor != WRITTEN_AGAINST.split(".")[:2]:
        pytest.fail(f"dagster-dbt {version('dagster-dbt')}: re-check the internals listed in component/project.py")
