"""The dbt manifest the definitions are built from: re-prepared when missing or older than the project.

A graph edited in YAML must not run on the manifest of the previous graph. Before the definitions
are built, the manifest's time is compared with every file dbt parses (models, macros, tests,
seeds, snapshots, ``dbt_project.yml``, ``profiles.yml``...): when one is newer, or the manifest is
missing, ``dbt parse`` runs again (or, with preparation turned off, loading fails saying so).

:func:`prepare_manifest` (``make demo``, the test fixtures) parses only when the manifest is stale or was
parsed for another target or environment: a stamp beside the manifest records the target and the
variables the profile reads, and the manifest's own time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from ici_assets.component.dbt_cli import dbt_executable, dbt_project
from ici_assets.warehouse.dbt_target import env_var_names

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
        dbt_parse(project, why=reason)
    return json.loads(Path(project.manifest_path).read_text())


#: A stamp beside the manifest: what it was parsed for (see :func:`prepare_manifest`).
STAMP_NAME = ".ici_parsed_for"


def dbt_parse(project: DbtProject, *, why: str = "") -> None:
    """``dbt parse --quiet`` of the project, as the dbt step runs dbt (the project's ``--target`` only when it
    names one, so dbt's partial parsing carries over to the step's ``dbt build``); RuntimeError with dbt's output
    when it fails."""
    args = [dbt_executable(), "parse", "--quiet", "--project-dir", str(project.project_dir)]
    if project.profiles_dir:
        args += ["--profiles-dir", str(project.profiles_dir)]
    if project.target:
        args += ["--target", project.target]
    done = subprocess.run(args, cwd=project.project_dir, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-4000:]
        raise RuntimeError(
            f"`dbt parse` of {project.project_dir} failed{f' ({why})' if why else ''}; dbt said:\n{output}"
        )


#: Variables that hold credentials: they do not change what dbt parses, and no trace of them is written.
_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY", re.IGNORECASE)


def parsed_for(project: DbtProject) -> str:
    """What a manifest depends on beyond the project's files: the folder, the target and the variables the
    profiles read (credentials left out: a password changes no schema)."""
    profiles = Path(project.profiles_dir or project.project_dir) / "profiles.yml"
    names = [n for n in env_var_names(profiles.read_text()) if not _SECRET_NAME.search(n)] if profiles.is_file() else []
    env = {name: os.environ.get(name) for name in ["DBT_TARGET", *names]}
    key = [str(Path(project.project_dir).resolve()), project.target, env]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def prepare_manifest(project_dir: str | Path, target: str | None = None) -> Path:
    """``target/manifest.json`` of the project, parsed now unless it is newer than every source and was parsed
    for the same target and environment (the stamp). ``target``: the target to parse for (default dbt's:
    ``$DBT_TARGET``, else the profile's); the manifest names each model's schema in it."""
    project = dbt_project(project_dir, target=target)
    manifest = Path(project.manifest_path)
    stamp = manifest.parent / STAMP_NAME
    key = parsed_for(project)
    fresh = stale_reason(project) is None and stamp.is_file()
    if fresh and stamp.read_text() == f"{key} {manifest.stat().st_mtime_ns}":
        return manifest
    dbt_parse(project)
    stamp.write_text(f"{key} {manifest.stat().st_mtime_ns}")
    return manifest
