"""The environment a command runs in (dev, ci or prod): its settings and the schema names it gives.

Each environment's settings are in ``environments/<env>.env`` (KEY=value, no secrets). The
library loads that file once, at the edge of every door (``elt``, ``elt dbt``, the Airflow DAG):
a variable already set in the process environment wins, so make, a container or an operator
can override any of them.

The dbt macro ``env_schema_prefix`` (macros/generate_schema_name.sql) names dbt's schemas;
this is its Python twin for the commands that run outside dbt (``elt publish``,
``elt rollback``, ``elt versions``). A test compares the two for every environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from collections.abc import Mapping, MutableMapping
from pathlib import Path, PurePosixPath

from elt.errors import LoaderError

ENVIRONMENTS = ("dev", "ci", "prod")
DEFAULT_ENVIRONMENT = "dev"
# the schema analysts read: views (PostgreSQL) or tables of the published file (DuckDB)
PUBLISHED_SCHEMA = "analytics"


@dataclasses.dataclass(frozen=True)
class Environment:
    name: str
    prefix: str  # '' in prod, e.g. 'dev_alice_' or 'ci_1234_'

    def schema(self, layer: str) -> str:
        return f"{self.prefix}{layer}"

    @property
    def published_schema(self) -> str:
        return self.schema(PUBLISHED_SCHEMA)

    @property
    def label(self) -> str:
        """prod, or the prefix without its underscore (dev_alice, ci_1234): the run history's."""
        return self.prefix.rstrip("_") or self.name


# where a login name can be read without asking the system: dbt's macro reads the same
# variables in the same order (it cannot call getpass), so both name the same schemas
LOGIN_VARIABLES = ("USER", "LOGNAME", "USERNAME")


def login_name(environ: Mapping[str, str]) -> str:
    """The login name: USER, LOGNAME or USERNAME, else the home folder's name (containers and
    cron often set HOME alone: /root, /home/runner); '' when none is set."""
    for variable in LOGIN_VARIABLES:
        if environ.get(variable):
            return environ[variable]
    return PurePosixPath(environ.get("HOME", "")).name


def current(environ: Mapping[str, str] | None = None) -> Environment:
    """The environment of ELT_ENV (default dev), with its schema prefix."""
    env = os.environ if environ is None else environ
    name = env.get("ELT_ENV", DEFAULT_ENVIRONMENT).strip().lower()
    if name == "prod":
        return Environment(name, "")
    if name == "dev":
        owner, label = env.get("ELT_DEV_USER") or login_name(env), "ELT_DEV_USER (or USER)"
    elif name == "ci":
        owner, label = env.get("ELT_CI_RUN_ID", ""), "ELT_CI_RUN_ID"
    else:
        raise LoaderError(f"ELT_ENV is {name}; it must be dev, ci or prod")
    slug = re.sub("[^a-z0-9]+", "_", owner.lower()).strip("_")
    if not slug:
        raise LoaderError(f"ELT_ENV={name} needs {label} to name its schemas")
    return Environment(name, f"{name}_{slug[:24]}_")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings file of an environment and where each of its keys' values came from."""

    path: Path
    values: dict[str, str]  # the file's KEY=value
    from_file: frozenset[str]  # the keys the file set (the others were set already)

    def origin(self, key: str) -> str:
        return "file" if key in self.from_file else "environment"


def settings_path(project_dir: Path, name: str) -> Path:
    return project_dir / "environments" / f"{name}.env"


def apply_settings(project_dir: Path, environ: MutableMapping[str, str]) -> Settings | None:
    """Load ``environments/<ELT_ENV>.env`` into ``environ``, each key only where it is not set
    already; None when the project has no such file (an unknown ELT_ENV is ``current()``'s to
    name)."""
    from dotenv import dotenv_values

    name = environ.get("ELT_ENV", DEFAULT_ENVIRONMENT).strip().lower()
    path = settings_path(project_dir, name)
    if name not in ENVIRONMENTS or not path.is_file():
        return None
    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    fresh = frozenset(k for k in values if k not in environ)
    for key in fresh:
        environ[key] = values[key]
    return Settings(path, values, fresh)


def label(environ: Mapping[str, str] | None = None) -> str:
    """The environment's label for the run history: ``current().label``, or the bare name where
    the environment cannot name its schemas (dev with no user at all): recording never stops
    a run."""
    try:
        return current(environ).label
    except LoaderError:
        env = os.environ if environ is None else environ
        return env.get("ELT_ENV", DEFAULT_ENVIRONMENT).strip().lower()


def git_commit(project_dir: Path) -> str:
    """The project's commit (ELT_GIT_COMMIT wins: an image has no .git); '+dirty' when the
    working tree has changes; 'unknown' outside a checkout."""
    if os.environ.get("ELT_GIT_COMMIT"):
        return os.environ["ELT_GIT_COMMIT"]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(project_dir), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
