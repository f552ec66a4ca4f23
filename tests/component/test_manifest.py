"""Preparing the dbt manifest: parsed when missing, stale or parsed for another environment, else reused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ici_assets.component.dbt_cli import dbt_project
from ici_assets.component.manifest import STAMP_NAME, parsed_for, prepare_manifest
from tests.conftest import copy_dbt_project


def test_what_the_stamp_records_follows_the_schemas_not_the_credentials(tmp_path, monkeypatch) -> None:
    """A changed database or file re-parses; a changed password does not, and leaves no trace in the stamp."""
    project = dbt_project(copy_dbt_project(tmp_path / "dbt_project"))
    monkeypatch.setenv("PGPASSWORD", "one")
    before = parsed_for(project)
    monkeypatch.setenv("PGPASSWORD", "two")
    assert parsed_for(project) == before
    monkeypatch.setenv("PGDATABASE", "another")
    assert parsed_for(project) != before


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


@pytest.mark.slow  # dbt parses
def test_prepare_parses_once_then_again_for_an_edit_or_another_environment(tmp_path, monkeypatch) -> None:
    project = copy_dbt_project(tmp_path / "dbt_project")
    monkeypatch.setenv("ICI_WAREHOUSE", str(tmp_path / "a.duckdb"))
    manifest = prepare_manifest(project)
    assert manifest == project / "target" / "manifest.json" and (manifest.parent / STAMP_NAME).is_file()
    first = _mtime(manifest)

    assert _mtime(prepare_manifest(project)) == first  # nothing changed: no parse

    monkeypatch.setenv("ICI_WAREHOUSE", str(tmp_path / "b.duckdb"))  # a variable profiles.yml reads
    second = _mtime(prepare_manifest(project))
    assert second > first

    yml = project / "models" / "marts" / "_media.yml"
    yml.write_text(yml.read_text())
    os.utime(yml, ns=(second + 10**9, second + 10**9))  # edited after the manifest was written
    assert _mtime(prepare_manifest(project)) > second


@pytest.mark.slow  # a dbt parse
def test_a_failing_parse_names_the_project_and_shows_dbt_s_message(tmp_path) -> None:
    project = copy_dbt_project(tmp_path / "dbt_project")
    (project / "models" / "marts" / "broken.yml").write_text("models:\n  - name: [not, a, name]\n")
    with pytest.raises(RuntimeError, match="dbt parse") as err:
        prepare_manifest(project)
    assert str(project) in str(err.value) and "dbt said" in str(err.value)
