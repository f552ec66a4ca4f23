"""The warehouse comes from the dbt profile target, resolved and rendered as dbt does (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ici_assets.assets.resources import WarehouseResource
from ici_assets.warehouse import DuckDBWarehouse
from ici_assets.warehouse.dbt_target import (
    DbtTargetError,
    duckdb_file,
    load_target,
    peek_target,
    resolve_profiles_dir,
)
from tests.conftest import copy_dbt_project

SECRET = "s3cr3t-pw-do-not-log"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A copy of the demo project; no DBT_* or PG* variables from the caller's shell."""
    for name in ("DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ICI_WAREHOUSE", str(tmp_path / "w.duckdb"))
    return copy_dbt_project(tmp_path / "proj")


def _profiles(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text("p: {target: t, outputs: {t: {type: duckdb, path: x.duckdb}}}\n")
    return folder


def test_profiles_dir_in_dbts_order(tmp_path, monkeypatch):
    project, cwd, home = tmp_path / "project", tmp_path / "cwd", tmp_path / "home"
    for folder in (project, cwd, home):
        folder.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.chdir(cwd)
    assert resolve_profiles_dir(project) == home / ".dbt"  # nothing anywhere: ~/.dbt
    _profiles(cwd)
    assert resolve_profiles_dir(project) == cwd  # the current directory holds one
    _profiles(project)
    assert resolve_profiles_dir(project) == project  # the project folder wins over the current directory
    monkeypatch.setenv("DBT_PROFILES_DIR", str(_profiles(tmp_path / "env")))
    assert resolve_profiles_dir(project) == tmp_path / "env"  # $DBT_PROFILES_DIR wins over both
    assert resolve_profiles_dir(project, tmp_path / "explicit") == tmp_path / "explicit"  # an explicit folder wins


def test_default_target_is_the_embedded_duckdb_file_dbt_writes(project, tmp_path):
    resource = WarehouseResource.for_dbt_target(project)
    assert (resource.dbt_target, resource.warehouse_type, resource.pool) == ("dev", "duckdb", "duckdb_warehouse")
    warehouse = resource.get()
    assert isinstance(warehouse, DuckDBWarehouse) and warehouse.path == tmp_path / "w.duckdb"
    assert resource.dbt_cli_settings() == {"profiles_dir": str(project), "profile": "ici_marketing", "target": "dev"}


def test_relative_duckdb_path_is_relative_to_the_project_like_dbt_runs_it(project, monkeypatch):
    monkeypatch.delenv("ICI_WAREHOUSE")
    warehouse = WarehouseResource.for_dbt_target(project).get()
    assert warehouse.location == str((project.parent / "data" / "warehouse.duckdb").resolve())


def test_dbt_target_env_selects_postgres_with_no_pool(project, monkeypatch):
    monkeypatch.setenv("DBT_TARGET", "postgres")
    monkeypatch.setenv("PGPORT", "6543")
    resource = WarehouseResource.for_dbt_target(project)
    assert (resource.dbt_target, resource.warehouse_type, resource.pool, resource.kind) == (
        "postgres",
        "postgres",
        None,
        "postgres",
    )
    target = resource.target()
    assert target is not None and target.settings["port"] == 6543 and target.settings["host"] == "127.0.0.1"
    # an explicit target wins over $DBT_TARGET
    assert WarehouseResource.for_dbt_target(project, target="dev").warehouse_type == "duckdb"


def test_password_rendered_from_env_stays_out_of_config_repr_and_location(project, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", SECRET)
    resource = WarehouseResource.for_dbt_target(project, target="postgres")
    target = resource.target()
    assert target is not None and target.secrets["password"] == SECRET  # rendered by dbt from the environment
    assert SECRET not in repr(resource) and SECRET not in str(resource.model_dump())
    assert SECRET not in repr(target) and "password" not in target.settings
    assert target.fix_hint("password", "schema") == f"password ($PGPASSWORD), schema (set in {target.profiles_file})"


def test_missing_profile_and_unknown_target_name_the_file_and_the_choices(project):
    with pytest.raises(DbtTargetError, match=r"Profile 'nope' .* is not in .*profiles.yml"):
        load_target(project, profile="nope")
    with pytest.raises(DbtTargetError, match=r"(?s)does not have a target named 'prod'.*- dev.*- postgres"):
        load_target(project, target="prod")


def test_unsupported_adapter_says_which_warehouses_exist(project):
    (project / "profiles.yml").write_text(
        "ici_marketing: {target: x, outputs: {x: {type: duckdb, path: ':memory:'}, y: {type: sqlserver}}}\n"
    )
    with pytest.raises(DbtTargetError, match=r"target y of profile 'ici_marketing'"):
        load_target(project, target="y")


@pytest.mark.parametrize("warehouse_env", ["set", "unset"])
def test_a_plain_duckdb_target_is_read_without_dbt_as_dbt_renders_it(project, monkeypatch, warehouse_env):
    """peek_target (what loading the definitions uses) names the same target and file as dbt's renderer."""
    if warehouse_env == "unset":
        monkeypatch.delenv("ICI_WAREHOUSE")
    peeked, rendered = peek_target(project), load_target(project)
    assert (peeked.profile, peeked.target, peeked.type) == (rendered.profile, rendered.target, rendered.type)
    assert peeked.settings["path"] == rendered.settings["path"] and duckdb_file(peeked) == duckdb_file(rendered)
    assert peeked.env_vars == rendered.env_vars


def test_anything_but_a_plain_duckdb_target_is_rendered_by_dbt(project, monkeypatch):
    monkeypatch.setenv("STEM", "other")
    (project / "profiles.yml").write_text(
        "ici_marketing:\n  target: dev\n  outputs:\n"
        "    dev: {type: duckdb, path: \"{{ env_var('STEM') ~ '.duckdb' }}\"}\n"
        "    gone: {type: duckdb, path: \"{{ env_var('NOT_SET_ANYWHERE') }}\"}\n"
    )
    assert peek_target(project).settings["path"] == "other.duckdb"  # a template beyond env_var: dbt rendered it
    with pytest.raises(DbtTargetError, match="NOT_SET_ANYWHERE"):  # dbt's own message for an unset variable
        peek_target(project, target="gone")
    monkeypatch.setenv("DBT_TARGET", "postgres")
    copy_dbt_project(project.parent / "again")
    assert peek_target(project.parent / "again").settings["host"] == "127.0.0.1"  # a server: dbt rendered it
