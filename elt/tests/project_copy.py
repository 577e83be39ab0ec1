"""A copy of the project as a new clone holds it, for tests and benchmarks that run `make` or
dbt in a project of their own: what a run builds (warehouses, dbt's target, state, logs,
virtualenvs, wheels) stays behind."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "target",
    "logs",
    "warehouse",
    "data",
    "state",
    "backups",
    "vendor",
    "artifacts",
    "build",
    "dbt_packages",
    "node_modules",
    "*.duckdb",
    "__pycache__",
    ".*_cache",
)


def copy_project(into: Path) -> Path:
    """The repository's project, copied into ``into`` (which must not exist yet)."""
    shutil.copytree(REPO, into, ignore=NOT_COPIED)
    return into
