"""Run dbt commands of the repository's project against a throwaway warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from elt.tests.conftest import REPO, pg_settings

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt_env(
    work: Path, target: str, database: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment for a dbt run that writes only under ``work`` (``extra`` added last)."""
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_TARGET": target,
        "ELT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
    }
    if database:
        s = pg_settings()
        env.update(
            ELT_PG_HOST=s["host"],
            ELT_PG_PORT=s["port"],
            ELT_PG_USER=s["user"],
            ELT_PG_PASSWORD=s["password"],
            ELT_PG_DATABASE=database,
        )
    return {**env, **(extra or {})}


def dbt(
    work: Path,
    target: str,
    *args: str,
    database: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT, *args, "--project-dir", str(REPO)],
        cwd=REPO,
        env=dbt_env(work, target, database, env),
        capture_output=True,
        check=False,
        text=True,
        timeout=1800,
    )


def build_in_process(work: Path, target: str, *args: str) -> dict[str, Any]:
    """`dbt build` in this process (dbt's Python API): saves the interpreter start and imports of a
    subprocess, which dominate a small daily build. The caller's environment must point dbt
    at the warehouse (``dbt_env``). Returns run_results.json; raises when the build failed."""
    from dbt.cli.main import dbtRunner

    try:
        result = dbtRunner().invoke(
            ["build", "--project-dir", str(REPO), "--target", target, "--quiet", *args]
        )
    finally:
        if target == "duckdb":
            # dbt-duckdb keeps its database open for the process (as the Airflow DAG does,
            # close it): the loader and the test's queries open the file next
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            env: Any = getattr(DuckDBConnectionManager, "_ENV", None)
            if env is not None:
                env.close()
                DuckDBConnectionManager._ENV = None
    results: dict[str, Any] = json.loads((work / "target" / "run_results.json").read_text())
    failed = [
        (r["unique_id"], r["status"], (r.get("message") or "")[:300])
        for r in results["results"]
        if r["status"] in ("error", "fail", "runtime error")
    ]
    if not result.success or failed:
        raise AssertionError(f"dbt build {' '.join(args)} failed: {failed or result.exception}")
    return results


def night_in_process(work: Path, target: str) -> tuple[Any, Any]:
    """`elt daily`'s build and publication in this process: tonight's scope (``elt.scope``),
    the build it selects (none when nothing is new), the publication audited against that
    selection and keeping its mark. Returns (the scope, the publication's outcome)."""
    from elt.environment import current
    from elt.publish.audit import audit
    from elt.publish.run import open_store, publish_night, record_nothing_new
    from elt.scope import tonight
    from elt.warehouse.profile import load_loader_target, load_target

    def store() -> Any:
        return open_store(load_target(REPO, REPO, target), current())

    kept = store()
    try:
        loader = load_loader_target(REPO, REPO, target, twin_of_named=True)
        night = tonight(kept, loader, REPO, 60.0)
        if night.nothing_new:
            return night, record_nothing_new(kept, night.reason)
    finally:
        kept.close()
    build_in_process(work, target, *night.dbt_args())
    results, manifest = work / "target" / "run_results.json", work / "target" / "manifest.json"
    kept = store()
    try:
        checked = audit(results, manifest, night.selection(), night.excluded_types())
        outcome = publish_night(
            kept, checked, manifest, current(), REPO, 3, mark=night.mark.as_json()
        )
        return night, outcome
    finally:
        kept.close()
