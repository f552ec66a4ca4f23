"""The warehouse named once: the dbt profile target that dbt builds in, rendered by dbt itself.

The ICI assets read the node tables and publish ``ici.*`` where dbt builds the models. So they
take their connection from the same ``profiles.yml`` output, rendered by dbt's own profile
renderer (``env_var(...)`` and all), with dbt's resolution of the profiles folder, profile name
and target. Nothing here keeps a password beyond the :class:`DbtTarget` object itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ici_assets.warehouse.base import Warehouse, WarehouseError

#: The environment variables dbt reads for the profiles folder, the profile and the target.
PROFILES_DIR_ENV, PROFILE_ENV, TARGET_ENV = "DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET"
#: The variable a DuckDB profile reads its file from (``path: "{{ env_var('ICI_WAREHOUSE') }}"``) when
#: ``build_definitions(..., warehouse=)`` names the file.
WAREHOUSE_ENV = "ICI_WAREHOUSE"
#: Warehouse types with an implementation in :mod:`ici_assets.warehouse`.
SUPPORTED_TYPES = ("duckdb", "postgres")
_ENV_VAR = re.compile(r"""env_var\(\s*['"]([^'"]+)['"]""")
#: A whole value that is one ``{{ env_var('NAME') }}`` or ``{{ env_var('NAME', 'default') }}`` and nothing else.
_ONLY_ENV_VAR = re.compile(r"""^\s*\{\{\s*env_var\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]*)\3\s*)?\)\s*\}\}\s*$""")
_SECRET_FIELDS = ("password", "pass", "token", "private_key", "private_key_passphrase", "motherduck_token")


class DbtTargetError(WarehouseError, ValueError):
    """The dbt profile or target cannot be found or rendered."""


def resolve_profiles_dir(project_dir: Path, explicit: str | Path | None = None) -> Path:
    """The folder holding ``profiles.yml``, in dbt's order: ``explicit`` (``--profiles-dir``), then
    ``$DBT_PROFILES_DIR``, then the project folder when it holds a profiles.yml (dbt's "current
    directory" when dagster-dbt runs it there), then the current directory, then ``~/.dbt``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    if os.environ.get(PROFILES_DIR_ENV):
        return Path(os.environ[PROFILES_DIR_ENV]).expanduser().resolve()
    for folder in (Path(project_dir), Path.cwd()):
        if (folder / "profiles.yml").exists():
            return folder.expanduser().resolve()
    return (Path.home() / ".dbt").resolve()


@dataclass(frozen=True)
class DbtTarget:
    """A rendered dbt output: which profile and target, its type, and its connection settings."""

    project_dir: Path
    profiles_file: Path
    profile: str
    target: str
    type: str
    settings: Mapping[str, Any]  # the adapter's credentials, secrets left out
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    env_vars: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # setting -> env vars it reads

    def describe(self) -> str:
        """``dbt target 'x' of profile 'y' (path/profiles.yml)``: for messages."""
        return f"dbt target '{self.target}' of profile '{self.profile}' ({self.profiles_file})"

    def fix_hint(self, *names: str) -> str:
        """Where the named settings come from: the env vars the profile reads, or the profile itself."""
        parts = []
        for name in names:
            env = self.env_vars.get(name)
            parts.append(f"{name} (${' / $'.join(env)})" if env else f"{name} (set in {self.profiles_file})")
        return ", ".join(parts)


def _render_context() -> None:
    """dbt's renderer reads ``env_var`` from its invocation context: give it this process's environment."""
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(os.environ))


#: Rendered targets of this process, keyed by everything the rendering reads (arguments, environment, the
#: two files' modification times): loading the definitions asks for the same target several times.
_RENDERED: dict[tuple[Any, ...], DbtTarget] = {}


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def load_target(
    project_dir: str | Path,
    *,
    profiles_dir: str | Path | None = None,
    profile: str | None = None,
    target: str | None = None,
) -> DbtTarget:
    """Render the profile target dbt would use for ``project_dir`` (``target`` None: ``$DBT_TARGET``, else the
    profile's default; ``profile`` None: ``$DBT_PROFILE``, else the project's ``profile:``).

    A process renders each (arguments, environment, files) once: a changed env var or profiles.yml renders anew."""
    project = Path(project_dir).expanduser().resolve()
    folder = resolve_profiles_dir(project, profiles_dir)
    key = (
        project,
        folder,
        profile,
        target,
        tuple(sorted(os.environ.items())),
        _mtime(folder / "profiles.yml"),
        _mtime(project / "dbt_project.yml"),
    )
    if key not in _RENDERED:
        if len(_RENDERED) >= 16:  # a process needs one or two; stale ones do not pile up
            _RENDERED.clear()
        _RENDERED[key] = _render_target(project, folder, profile, target)
    return _RENDERED[key]


def env_var_names(text: str) -> list[str]:
    """The variables a profile text reads through ``env_var('NAME', ...)``, each once, sorted."""
    return sorted(set(_ENV_VAR.findall(text)))


def _env_vars_of(output: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Setting -> the env vars its value reads, for one profile output (aliases also under dbt's own name)."""
    env_vars = {str(k): tuple(_ENV_VAR.findall(str(v))) for k, v in output.items() if _ENV_VAR.search(str(v))}
    aliases = {"pass": "password", "dbname": "database", "username": "user"}
    env_vars.update({aliases[k]: v for k, v in list(env_vars.items()) if k in aliases})
    return env_vars


def _plain(value: Any) -> str | None:
    """``value`` as dbt renders it when that needs no Jinja beyond one ``env_var`` (set, or with a default); None
    when dbt's renderer must decide (any other template, an unset variable without default, not a string)."""
    if not isinstance(value, str):
        return None
    if not any(mark in value for mark in ("{{", "{%", "{#")):
        return value
    match = _ONLY_ENV_VAR.match(value)
    if match is None:
        return None
    return os.environ.get(match.group(2), match.group(4))


def peek_target(
    project_dir: str | Path,
    *,
    profiles_dir: str | Path | None = None,
    profile: str | None = None,
    target: str | None = None,
) -> DbtTarget:
    """:func:`load_target` when the target is an embedded DuckDB file named in plain YAML (its ``path`` at most one
    ``env_var``): read without importing dbt, which takes over a second of every process that loads definitions.
    Anything else (a server, another template, an error to report) is rendered by dbt itself."""
    import yaml

    project = Path(project_dir).expanduser().resolve()
    folder = resolve_profiles_dir(project, profiles_dir)
    profiles_file = folder / "profiles.yml"
    try:
        raw = yaml.safe_load(profiles_file.read_text())
        name = (
            profile
            or os.environ.get(PROFILE_ENV)
            or _plain(yaml.safe_load((project / "dbt_project.yml").read_text()).get("profile"))
        )
        entry = raw.get(name) if isinstance(raw, dict) and name else None
        chosen = (
            target or os.environ.get(TARGET_ENV) or _plain(entry.get("target") if isinstance(entry, dict) else None)
        )
        outputs = entry.get("outputs") if isinstance(entry, dict) else None
        output = outputs.get(chosen) if isinstance(outputs, dict) and chosen else None
    except (OSError, AttributeError, yaml.YAMLError):
        output = None
    path = _plain(output.get("path")) if isinstance(output, dict) and _plain(output.get("type")) == "duckdb" else None
    if output is None or path is None or name is None or chosen is None:
        return load_target(project, profiles_dir=profiles_dir, profile=profile, target=target)
    settings, env = MappingProxyType({"path": path}), MappingProxyType(_env_vars_of(output))
    return DbtTarget(project, profiles_file, name, chosen, "duckdb", settings, env_vars=env)


def _render_target(project: Path, folder: Path, profile: str | None, target: str | None) -> DbtTarget:
    from dbt.adapters.factory import load_plugin
    from dbt.config.profile import Profile, read_profile
    from dbt.config.project import load_raw_project
    from dbt.config.renderer import ProfileRenderer
    from dbt.exceptions import DbtProfileError, DbtProjectError, DbtRuntimeError

    profiles_file = folder / "profiles.yml"
    _render_context()
    renderer = ProfileRenderer({})
    try:
        name = (
            profile or os.environ.get(PROFILE_ENV) or renderer.render_value(load_raw_project(str(project))["profile"])
        )
    except (DbtProjectError, KeyError) as exc:
        raise DbtTargetError(f"dbt project {project}: no `profile:` in dbt_project.yml ({exc}).") from exc
    raw = read_profile(str(folder)) if profiles_file.exists() else {}
    if name not in raw:
        raise DbtTargetError(
            f"Profile '{name}' of dbt project {project} is not in {profiles_file}: add it there, or point "
            f"${PROFILES_DIR_ENV} at the folder whose profiles.yml has it."
        )
    chosen = target or os.environ.get(TARGET_ENV) or None
    try:
        target_name, data = Profile.render_profile(raw[name], name, chosen, renderer)
        data = dict(data)
        kind = str(data.pop("type"))
        credentials_cls = load_plugin(kind)
        values = credentials_cls.translate_aliases(data)
        credentials_cls.validate(values)
        credentials = credentials_cls.from_dict(values).to_dict()
    except (DbtProfileError, DbtRuntimeError, KeyError) as exc:
        raise DbtTargetError(
            f"dbt target {chosen or '(default)'} of profile '{name}' ({profiles_file}) cannot be used: "
            f"{str(exc).strip()}"
        ) from exc
    env_vars = _env_vars_of(raw[name].get("outputs", {}).get(target_name, {}))
    secrets = {k: str(credentials.pop(k)) for k in _SECRET_FIELDS if credentials.get(k) is not None}
    return DbtTarget(
        project,
        profiles_file,
        name,
        target_name,
        kind,
        MappingProxyType(credentials),  # shared by every caller of the cache: read-only
        MappingProxyType(secrets),
        MappingProxyType(env_vars),
    )


def duckdb_file(target: DbtTarget) -> str:
    """The DuckDB file of a duckdb target; a relative path is relative to the dbt project (dbt's cwd)."""
    raw = str(target.settings.get("path") or "")
    if not raw or raw == ":memory:" or raw.startswith("md:"):
        raise DbtTargetError(
            f"{target.describe()} has path {raw or '(none)'!r}: the ICI assets need a DuckDB file that dbt and "
            "Dagster's processes share. Set `path:` to a file, e.g. warehouse.duckdb."
        )
    path = Path(raw).expanduser()
    return str(path if path.is_absolute() else (target.project_dir / path).resolve())


def warehouse_for(target: DbtTarget, *, wait_seconds: float = 120.0) -> Warehouse:
    """The :class:`Warehouse` for a rendered dbt target (the file or server dbt builds in)."""
    if target.type == "duckdb":
        from ici_assets.warehouse.duckdb_file import DuckDBWarehouse

        return DuckDBWarehouse(duckdb_file(target), wait_seconds=wait_seconds)
    if target.type == "postgres":
        from ici_assets.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse.from_target(target, wait_seconds=wait_seconds)
    raise DbtTargetError(
        f"{target.describe()} is of type '{target.type}': the ICI assets have warehouses for "
        f"{', '.join(SUPPORTED_TYPES)} (docs/postgres.md, 'Other warehouses', says what another adapter needs)."
    )
