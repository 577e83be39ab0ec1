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

import duckdb

from elt.context import Context
from elt.errors import LoaderError
from elt.warehouse.profile import Target

MANIFEST_TABLE = "raw._elt_manifest"  # the loader's manifest (elt/loader/bookkeeping.py)


def dbt_path() -> Path:
    """dbt of the environment elt runs in."""
    return Path(sys.executable).with_name("dbt")


def run_dbt(ctx: Context, *args: str) -> int:
    """``dbt <args> --target <the context's target>``; dbt's exit code (its output goes straight
    to the terminal)."""
    target = ["--target", ctx.target_name] if ctx.target_name else []
    return subprocess.run([str(dbt_path()), *args, *target], check=False).returncode


def nothing_loaded(target: Target) -> str | None:
    """Why a build cannot start (the warehouse has no manifest: nothing was ever loaded), or None."""
    first = "run `make load` (or `.venv/bin/elt load`) first"
    if target.type == "duckdb":
        path = Path(str(target.settings.get("path")))
        if not path.exists():
            return f"the warehouse {path} does not exist: nothing is loaded yet; {first}"
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                found = con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_schema = 'raw' and table_name = '_elt_manifest'"
                ).fetchone()
        except duckdb.IOException:
            return None  # held by another process: dbt will say so itself
        if not found or not found[0]:
            return f"nothing is loaded into {path} yet (no {MANIFEST_TABLE}); {first}"
        return None
    if target.type == "postgres":
        from elt.warehouse.postgres import open_target

        conn = open_target(target, "elt-build-check")
        try:
            with conn.cursor() as cur:
                cur.execute("select to_regclass(%s)", [MANIFEST_TABLE])
                row = cur.fetchone()
        finally:
            conn.close()
        if not row or row[0] is None:
            return f"nothing is loaded into {target.describe()} yet (no {MANIFEST_TABLE}); {first}"
    return None


def check_loaded(target: Target) -> None:
    reason = nothing_loaded(target)
    if reason:
        raise LoaderError(reason)
