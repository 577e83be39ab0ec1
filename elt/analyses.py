"""The analysts' saved queries (``analyses/``), run where analysts read: the published marts.

dbt compiles an analysis against the build area (``<prefix>marts``), which analysts must not
read. Here it is compiled into a folder of its own (the build's manifest stays the one
``elt publish`` audits), every mart it names is pointed at the published schema
(``<prefix>analytics``), and the query runs as the analyst: on DuckDB on the published file,
read-only; on PostgreSQL as the analyst's login (the ``<target>_published`` target).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from typing import Any

from elt.context import Context
from elt.errors import LoaderError
from elt.night import dbt_path
from elt.warehouse.engines import engine


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    sql: str  # as run, on the published marts
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compile_analyses(
    ctx: Context, names: list[str], variables: dict[str, Any] | None = None
) -> dict[str, str]:
    """The named analyses (all when none is named) compiled by dbt, each mart it reads pointed
    at the published schema."""
    folder = ctx.project.dbt_target_dir / "analyses"
    select = names or ["path:analyses"]
    target = ["--target", ctx.target_name] if ctx.target_name else []
    compiled = subprocess.run(
        [str(dbt_path()), "compile", "--quiet", "--select", *select, *target]
        + ["--project-dir", str(ctx.project.dir), "--profiles-dir", str(ctx.project.profiles_dir)]
        + (["--vars", json.dumps(variables)] if variables else []),
        env={**os.environ, "DBT_TARGET_PATH": str(folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        said = (compiled.stdout + compiled.stderr).strip()[-1500:]
        raise LoaderError(f"dbt compile of the analyses failed: {said}")
    manifest = json.loads((folder / "manifest.json").read_text())
    published = {
        str(n["relation_name"]): f"{_quote(ctx.env.published_schema)}.{_quote(n['alias'])}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["fqn"][1] == "marts" and n.get("relation_name")
    }
    pattern = re.compile("|".join(re.escape(r) for r in sorted(published, key=len, reverse=True)))
    queries = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "analysis":
            continue
        if names and node["name"] not in names:
            continue
        path = folder / "compiled" / node["package_name"] / node["original_file_path"]
        queries[node["name"]] = pattern.sub(lambda m: published[m.group(0)], path.read_text())
    missing = [n for n in names if n not in queries]
    if missing:
        raise LoaderError(
            f"no analysis named {', '.join(missing)} in analyses/ "
            f"(there are: {', '.join(sorted(a.stem for a in (ctx.project.dir / 'analyses').glob('*.sql')))})"
        )
    return dict(sorted(queries.items()))


def run_analyses(ctx: Context, queries: dict[str, str]) -> list[Result]:
    """Each query on the published marts, as the analyst."""
    reader = engine(ctx.target).read_published(
        ctx.env, ctx.project.dir, ctx.project.profiles_dir, "elt-analyses"
    )
    with reader as query:
        return [Result(name, sql, *query(sql)) for name, sql in queries.items()]
