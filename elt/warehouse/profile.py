"""The connection, read from dbt's ``profiles.yml`` and rendered by dbt itself (env_var etc.)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import jinja2
import yaml

from elt.errors import LoaderError


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    type: str  # duckdb | postgres | spark
    settings: dict[str, Any] = dataclasses.field(repr=False)

    def describe(self) -> str:
        """Where the target is, for messages: never the password."""
        if self.type == "duckdb":
            return f"target {self.name!r} (duckdb file {self.settings.get('path')})"
        s = self.settings
        if self.type == "spark":
            if s.get("method") == "thrift":
                return f"target {self.name!r} (spark thrift {s.get('host')}:{s.get('port')})"
            master = (s.get("server_side_parameters") or {}).get("spark.master", "local")
            return f"target {self.name!r} (spark session, master {master})"
        return f"target {self.name!r} (postgres {s.get('user')}@{s.get('host')}:{s.get('port')}/{s.get('dbname')})"


def profile_name(project_dir: Path) -> str:
    path = project_dir / "dbt_project.yml"
    try:
        return str((yaml.safe_load(path.read_text()) or {})["profile"])
    except (OSError, KeyError, yaml.YAMLError) as exc:
        raise LoaderError(f"cannot read the profile name from {path}: {exc}") from None


class _MissingEnvVar(Exception):
    pass


def render(value: Any) -> Any:
    """Render a profile the way dbt does for what profiles use: ``env_var`` and ``as_*`` filters.

    Hand-written on purpose: importing dbt's own renderer costs about 0.8 s per load, more
    than loading a day of files. A test checks this against dbt's renderer on the repo's
    profiles.yml.
    """
    import jinja2
    import jinja2.sandbox

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise _MissingEnvVar(name)

    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = env_var
    for name in ("as_text", "as_bool", "as_number", "as_native"):
        env.filters[name] = lambda v: v

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str) and ("{{" in v or "{%" in v):
            return _native(env.from_string(v).render())
        return v

    return walk(value)


def _native(text: str) -> Any:
    """dbt renders profiles natively: numbers and booleans come out typed."""
    value = yaml.safe_load(text) if text.strip() else text
    return value if isinstance(value, (int, float, bool)) else text


def _profile(project_dir: Path, profiles_dir: Path | None) -> tuple[str, Path, dict[str, Any]]:
    """The project's profile, rendered: its name, its file and its content."""
    profiles_dir = profiles_dir or Path(os.environ.get("DBT_PROFILES_DIR", project_dir))
    path = profiles_dir / "profiles.yml"
    if not path.is_file():
        raise LoaderError(
            f"no profiles.yml in {profiles_dir} (use --profiles-dir or DBT_PROFILES_DIR)"
        )
    name = profile_name(project_dir)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise LoaderError(f"{path}: invalid YAML: {exc}") from None
    if name not in raw:
        raise LoaderError(f"profile {name!r} not found in {path}")
    try:
        profile = render(raw[name])
    except _MissingEnvVar as exc:
        raise LoaderError(f"{path}: env var required but not provided: {exc}") from None
    except (jinja2.TemplateError, TypeError, ValueError) as exc:  # syntax, undefined names
        raise LoaderError(f"{path}: cannot render profile {name!r}: {exc}") from None
    return name, path, profile


def _target(name: str, profile: dict[str, Any], chosen: str | None) -> Target:
    chosen = chosen or profile.get("target")
    outputs = profile.get("outputs") or {}
    if chosen not in outputs:
        raise LoaderError(
            f"target {chosen!r} is not in profile {name!r} (targets: {', '.join(outputs)})"
        )
    settings = dict(outputs[chosen])
    kind = settings.get("type")
    if kind not in ("duckdb", "postgres", "spark"):
        raise LoaderError(
            f"target {chosen!r} has type {kind!r}; the loader supports duckdb, postgres and spark"
        )
    return Target(str(chosen), str(kind), settings)


def load_target(project_dir: Path, profiles_dir: Path | None, target: str | None) -> Target:
    """A target of the project's profile; None: the profile's default (ELT_TARGET)."""
    name, _, profile = _profile(project_dir, profiles_dir)
    return _target(name, profile, target)


# the loader's own login: where the profile has `<target>_loader` (PostgreSQL's elt_loader
# role), the loader and the run history use it; dbt and the analysts never do
LOADER_SUFFIX = "_loader"


def load_loader_target(
    project_dir: Path, profiles_dir: Path | None, target: str | None, twin_of_named: bool = False
) -> Target:
    """The target the loader writes with: the one named (a login chosen on purpose), else the
    default target's ``<name>_loader`` twin when the profile has one, else the default.
    ``twin_of_named``: the named target's twin too (a night run on a dbt target loads as
    that target's loader)."""
    name, _, profile = _profile(project_dir, profiles_dir)
    if target is not None and not twin_of_named:
        return _target(name, profile, target)
    base = target or str(profile.get("target"))
    if base + LOADER_SUFFIX in (profile.get("outputs") or {}):
        base += LOADER_SUFFIX
    return _target(name, profile, base)
