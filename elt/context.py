"""What a command runs against, resolved once at its door and handed down.

The door (``elt``, the Airflow DAG) builds one ``Context``: the project and its folders, the
environment's settings file loaded, the environment (dev, ci, prod) and the dbt target. The
library takes what it needs from it and never asks the process environment again.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import MutableMapping
from pathlib import Path

from elt.environment import Environment, Settings, apply_settings, current, label
from elt.errors import LoaderError
from elt.warehouse.profile import Target, load_loader_target, load_target

# the folders a project's commands use unless told otherwise (the Makefile passes the same
# variables on); the DuckDB file's default lives in profiles.yml alone
DATA_DIR = "data"
DBT_TARGET_DIR = "target"
REPORT_DIR = "artifacts/report"


@dataclasses.dataclass(frozen=True)
class Project:
    """The dbt project and the folders around it."""

    dir: Path
    profiles_dir: Path  # profiles.yml: DBT_PROFILES_DIR, else the project
    dbt_target_dir: Path  # dbt's artifacts: DBT_TARGET_PATH, else <project>/target
    data_dir: Path  # the extracts: ELT_DATA_DIR, else ./data

    @classmethod
    def at(
        cls,
        project_dir: Path,
        profiles_dir: Path | None = None,
        environ: MutableMapping[str, str] | None = None,
    ) -> Project:
        env = os.environ if environ is None else environ
        return cls(
            dir=project_dir,
            profiles_dir=profiles_dir or Path(env.get("DBT_PROFILES_DIR") or project_dir),
            dbt_target_dir=Path(env.get("DBT_TARGET_PATH") or project_dir / DBT_TARGET_DIR),
            data_dir=Path(env.get("ELT_DATA_DIR") or DATA_DIR),
        )


@dataclasses.dataclass(frozen=True)
class Context:
    project: Project
    target_name: str | None  # None: the profile's default target (ELT_TARGET)
    settings: Settings | None  # the environment's settings file, as loaded

    @functools.cached_property
    def env(self) -> Environment:
        return current()

    @property
    def env_label(self) -> str:
        """The run history's name of the environment (never fails: see ``label``)."""
        return label()

    @functools.cached_property
    def target(self) -> Target:
        return load_target(self.project.dir, self.project.profiles_dir, self.target_name)

    @functools.cached_property
    def loader_target(self) -> Target:
        """The loader's login: the target named, else the default's ``_loader`` twin."""
        return load_loader_target(self.project.dir, self.project.profiles_dir, self.target_name)

    @functools.cached_property
    def night_loader_target(self) -> Target:
        """The loader's login of a night on this target: its ``_loader`` twin (or itself)."""
        return load_loader_target(
            self.project.dir, self.project.profiles_dir, self.target_name, twin_of_named=True
        )

    @property
    def alert_command(self) -> str | None:
        """The alert hook (ELT_ALERT_COMMAND): a shell command given a step's failures."""
        return os.environ.get("ELT_ALERT_COMMAND") or None

    @property
    def alert_on_warn(self) -> bool:
        """ELT_ALERT_ON_WARN: warnings go to the hook too."""
        return os.environ.get("ELT_ALERT_ON_WARN", "").strip().lower() in ("1", "true", "yes", "on")

    @property
    def report_path(self) -> Path:
        """Where the monitoring page goes: ELT_REPORT_PATH, else one page per environment and
        target under artifacts/report/."""
        value = os.environ.get("ELT_REPORT_PATH")
        if value:
            return Path(value)
        return Path(REPORT_DIR) / f"{self.env.label}-{self.target.name}.html"

    @property
    def lake(self) -> Path | None:
        """ELT_DELTA_DIR: where publication also writes the marts as Delta tables (None: off)."""
        value = os.environ.get("ELT_DELTA_DIR")
        return Path(value).absolute() if value else None

    @property
    def publish_keep(self) -> int:
        """ELT_PUBLISH_KEEP: versions kept for rollback, the new one included (at least 2)."""
        value = os.environ.get("ELT_PUBLISH_KEEP", "3").strip()
        if not value.isdigit() or int(value) < 2:
            raise LoaderError(
                f"ELT_PUBLISH_KEEP must be a whole number of at least 2, got {value!r}"
            )
        return int(value)

    def for_target(self, name: str | None) -> Context:
        """The same project and environment on another target (the loader's login, say)."""
        return Context(self.project, name, self.settings)


def resolve(
    project_dir: Path = Path("."),
    profiles_dir: Path | None = None,
    target: str | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> Context:
    """The context of a command: loads the environment's settings file (a variable already set
    wins), then names the project's folders."""
    env = os.environ if environ is None else environ
    settings = apply_settings(project_dir, env)
    return Context(Project.at(project_dir, profiles_dir, env), target, settings)
