"""The night's steps that are not a library call of their own: dbt run as a subprocess with
the context's target, and the check that a build has something to build from.

``elt build`` and ``elt daily`` (and so ``make build`` and ``make daily``) use these; the
Airflow DAG runs dbt node by node through Cosmos and records each task with the same
``elt.loader.run.record``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from elt.context import Context
from elt.errors import LoaderError
from elt.warehouse.engines import engine
from elt.warehouse.profile import Target
from elt.warehouse.spark_catalog import release_shared_session

MANIFEST_TABLE = "raw._elt_manifest"  # the loader's manifest (elt/loader/bookkeeping.py)


def dbt_path() -> Path:
    """dbt of the environment elt runs in."""
    return Path(sys.executable).with_name("dbt")


def run_dbt(ctx: Context, *args: str) -> int:
    """``dbt <args> --target <the context's target>``; dbt's exit code (its output goes straight
    to the terminal)."""
    target = ["--target", ctx.target_name] if ctx.target_name else []
    release_shared_session()  # dbt's Spark needs the metastore to itself
    return subprocess.run([str(dbt_path()), *args, *target], check=False).returncode


def nothing_loaded(target: Target) -> str | None:
    """Why a build cannot start (the warehouse has no manifest: nothing was ever loaded), or None."""
    first = "run `make load` (or `.venv/bin/elt load`) first"
    reason = engine(target).not_loaded(MANIFEST_TABLE)
    return f"{reason}; {first}" if reason else None


def check_loaded(target: Target) -> None:
    reason = nothing_loaded(target)
    if reason:
        raise LoaderError(reason)
