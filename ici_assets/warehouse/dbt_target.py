"""The warehouse dbt builds into, read from the dbt profile target: one source of truth for both sides.

``resolve_profiles_dir`` finds ``profiles.yml`` in dbt's order; ``render_target`` renders the
chosen target with dbt's own profile renderer (``env_var(...)`` and all), so the ICI assets read
and write exactly where ``dbt build`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROFILES_YML = "profiles.yml"


def resolve_profiles_dir(project_dir: Path, explicit: str | Path | None = None) -> Path:
    """The folder of ``profiles.yml``, in dbt's order: ``explicit`` > ``$DBT_PROFILES_DIR`` > the project
    folder if it holds one > the current folder if it holds one > ``~/.dbt``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"]).expanduser().resolve()
    for folder in (Path(project_dir), Path.cwd()):
        if (folder / PROFILES_YML).is_file():
            return folder.resolve()
    return (Path.home() / ".dbt").resolve()


@dataclass(frozen=True)
class DbtTarget:
    """A rendered dbt profile target: its names, where it was read from, and its settings (``type``, ``path``...)."""

    profile: str
    target: str
    profiles_yml: Path
    project_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.settings.get("type", ""))

    def describe(self) -> str:
        return f"dbt target '{self.target}' of profile '{self.profile}' ({self.profiles_yml})"

    def duckdb_path(self) -> Path:
        """The DuckDB file of a duckdb target; a relative path is relative to the dbt project (dbt's cwd)."""
        raw = str(self.settings.get("path") or "")
        if not raw or raw == ":memory:" or raw.startswith("md:"):
            raise ValueError(
                f"{self.describe()} has path {raw or '(none)'!r}: the ICI assets need a DuckDB file that dbt and "
                "Dagster's processes share. Set `path:` to a file, e.g. warehouse.duckdb."
            )
        path = Path(raw).expanduser()
        return (path if path.is_absolute() else self.project_dir / path).resolve()


def _project_profile(project_dir: Path) -> str:
    path = project_dir / "dbt_project.yml"
    try:
        name = (yaml.safe_load(path.read_text()) or {}).get("profile")
    except OSError as exc:
        raise FileNotFoundError(f"{path} not found: is {project_dir} a dbt project folder?") from exc
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path} names no `profile:`; add one naming a profile of profiles.yml.")
    return name


def render_target(
    project_dir: str | Path,
    *,
    profiles_dir: str | Path | None = None,
    profile: str | None = None,
    target: str | None = None,
) -> DbtTarget:
    """The dbt target the project builds into (``--profile``/``--target`` or ``$DBT_PROFILE``/``$DBT_TARGET``,
    else the project's profile and its default target), rendered as dbt renders it."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    project = Path(project_dir).resolve()
    folder = resolve_profiles_dir(project, profiles_dir)
    yml = folder / PROFILES_YML
    if not yml.is_file():
        raise FileNotFoundError(
            f"No {PROFILES_YML} for dbt project {project}: looked in {folder} (dbt's order: --profiles-dir, "
            "$DBT_PROFILES_DIR, the project folder, the current folder, ~/.dbt). Write one there, or set "
            "DBT_PROFILES_DIR to the folder that holds it."
        )
    name = profile or os.environ.get("DBT_PROFILE") or _project_profile(project)
    raw = read_profile(str(folder))
    if name not in raw:
        raise ValueError(f"{yml} has no profile '{name}' (profiles: {sorted(raw)}); dbt_project.yml asks for it.")
    set_invocation_context(os.environ)  # dbt's env_var() reads the environment through this context
    chosen, settings = Profile.render_profile(
        raw[name], name, target or os.environ.get("DBT_TARGET"), ProfileRenderer({})
    )
    return DbtTarget(profile=name, target=chosen, profiles_yml=yml, project_dir=project, settings=dict(settings))
