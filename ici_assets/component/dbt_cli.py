"""Running dbt from Dagster's processes: the executable, and preparing a project's manifest."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ici_assets.warehouse.dbt_target import resolve_profiles_dir


def dbt_executable() -> str:
    """The dbt installed beside this Python (a venv need not be activated), else ``dbt`` on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def ensure_dbt_on_path() -> None:
    """Put this Python's ``bin`` folder on PATH when ``dbt`` is not found there (``.venv/bin/dg`` run
    without activating the venv): dagster-dbt calls ``dbt`` by name."""
    folder = Path(sys.executable).parent
    if shutil.which("dbt") is None and (folder / "dbt").exists():
        os.environ["PATH"] = os.pathsep.join([str(folder), os.environ.get("PATH", "")])


def dbt_project(
    project_dir: str | Path, profiles_dir: str | Path | None = None, target: str | None = None
) -> DbtProject:
    """The DbtProject of a folder, with profiles.yml found in dbt's order (not only in the project folder)."""
    folder = Path(project_dir).resolve()
    return DbtProject(project_dir=folder, profiles_dir=resolve_profiles_dir(folder, profiles_dir), target=target)
