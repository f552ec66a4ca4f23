"""The dbt manifest the definitions are built from: re-prepared when missing or older than the project.

A graph edited in YAML must not run on the manifest of the previous graph. Before the definitions
are built, the manifest's time is compared with every file dbt parses (models, macros, tests,
seeds, snapshots, ``dbt_project.yml``, ``profiles.yml``...): when one is newer, or the manifest is
missing, ``dbt parse`` runs again (or, with preparation turned off, loading fails saying so).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from ici_assets.component.dbt_cli import ensure_dbt_on_path

log = logging.getLogger("ici_assets")

#: Files dbt reads when it parses a project.
PARSED_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md", ".py", ".jinja", ".jinja2"})
#: Folders of a dbt project that hold its outputs or installed packages, not its sources.
OUTPUT_DIRS = frozenset({"target", "logs", "dbt_packages", "dbt_modules", "__pycache__"})


class StaleManifestError(RuntimeError):
    """The dbt manifest is missing or older than the project's files, and preparing it is turned off."""


def newest_source(project_dir: Path, extra: Iterable[Path] = ()) -> tuple[Path, float] | None:
    """The most recently modified file dbt parses in ``project_dir`` (plus ``extra`` files), with its mtime."""
    best: tuple[Path, float] | None = None
    candidates: list[Path] = [p for p in extra if p.is_file()]
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in OUTPUT_DIRS]
        candidates += [Path(root, f) for f in files if not f.startswith(".") and Path(f).suffix in PARSED_SUFFIXES]
    for path in candidates:
        mtime = path.stat().st_mtime
        if best is None or mtime > best[1]:
            best = (path, mtime)
    return best


def stale_reason(project: DbtProject) -> str | None:
    """Why the project's manifest cannot be used as it is, or None when it is newer than every source."""
    manifest = Path(project.manifest_path)
    if not manifest.is_file():
        return f"{manifest} does not exist"
    profiles = [Path(project.profiles_dir) / "profiles.yml"] if project.profiles_dir else []
    newest = newest_source(Path(project.project_dir), profiles)
    if newest is not None and newest[1] > manifest.stat().st_mtime:
        return f"{newest[0]} was modified after {manifest} was written"
    return None


def ensure_manifest(project: DbtProject, *, prepare: bool = True) -> dict[str, Any]:
    """The project's parsed manifest, after running ``dbt parse`` if it is missing or stale (``prepare``),
    or StaleManifestError naming the newer file (``prepare=False``)."""
    reason = stale_reason(project)
    if reason is not None:
        if not prepare:
            raise StaleManifestError(
                f"The dbt manifest of {project.project_dir} is out of date: {reason}. Re-prepare it (`dg utils "
                "refresh-defs-state`, or `dbt parse` in the project), or set `prepare_if_stale: true`."
            )
        log.warning("Preparing the dbt manifest (dbt parse) of %s: %s", project.project_dir, reason)
        ensure_dbt_on_path()
        try:
            project.preparer.prepare(project)
        except Exception as exc:
            raise RuntimeError(
                f"`dbt parse` of {project.project_dir} failed ({reason}); run `dbt parse` in that folder to see "
                f"dbt's message: {exc}"
            ) from exc
    return json.loads(Path(project.manifest_path).read_text())
