"""The commands: publish an audited build, switch back to a kept version, list versions."""

from __future__ import annotations

import os
from pathlib import Path

from elt.environment import Environment, current
from elt.loader.profile import Target
from elt.publish.audit import Audit
from elt.publish.versions import Store, Version, new_version


def open_store(target: Target, env: Environment | None = None) -> Store:
    env = env or current()
    if target.type == "duckdb":
        from elt.publish.duckdb_store import DuckDBStore

        return DuckDBStore(Path(str(target.settings.get("path"))), env)
    from elt.loader.postgres_target import connect, connection_params, describe
    from elt.publish.postgres_store import PostgresStore

    params = connection_params(target.settings, target.name, "elt-publish")
    analyst = os.environ.get("ELT_PG_ANALYST_USER", "elt_analyst")
    return PostgresStore(connect(params, describe(params, target.name)), env, analyst)


def publish(
    store: Store, audit: Audit, project_dir: Path, keep: int
) -> tuple[Version, list[int], bool]:
    """Publish the audited build (the caller checked ``audit.passed``) and prune old versions;
    the last item says whether the build was published already (nothing was copied)."""
    already = any(v.invocation_id == audit.invocation_id and v.is_current for v in store.versions())
    version = store.publish(audit, new_version(0, audit, current(), project_dir))
    return version, store.prune(keep), already


def previous(versions: list[Version]) -> Version | None:
    """The newest version older than the current one."""
    now = next((v.number for v in versions if v.is_current), None)
    older = [v for v in versions if now is not None and v.number < now]
    return older[-1] if older else None


def describe_version(v: Version) -> str:
    tests = ", ".join(f"{n} {s}" for s, n in sorted(v.tests.items())) or "no tests"
    return (
        f"{'*' if v.is_current else ' '} {v.label}  published {v.published_at}  built {v.built_at}  "
        f"commit {v.git_commit}  {sum(v.rows.values()):,} rows in {len(v.rows)} marts  tests: {tests}"
    )
