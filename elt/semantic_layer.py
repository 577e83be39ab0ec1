"""The semantic layer for analysts: MetricFlow's `mf` on the published marts.

dbt writes ``semantic_manifest.json`` for the build area (``<prefix>marts``), which analysts
never read. ``elt metrics`` points a copy of it at the published marts (``<prefix>analytics``:
views on PostgreSQL, the published file on DuckDB, attached read-only) and runs ``mf`` there
as the analyst's profile target (``<target>_published``), so metrics read what was audited.
``--build`` runs ``mf`` on the build area instead, as the data team does while developing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from elt.context import Context
from elt.errors import LoaderError
from elt.warehouse.engines import engine, published_login

# the name dbt-duckdb's published target attaches the published file under (profiles.yml)


# the semantic models: the one owner of what revenue, orders and valued orders mean
SEMANTIC_MODELS = Path("models") / "marts" / "_marts__semantic_models.yml"
_AGGREGATES = {"sum": "sum({})", "min": "min({})", "max": "max({})", "average": "avg({})",
               "count": "count({})", "count_distinct": "count(distinct {})"}  # fmt: skip


def measures(project_dir: Path) -> dict[str, str]:
    """Every measure of the semantic models as SQL over its model's columns (``agg(expr)``),
    for code that must compute a metric where MetricFlow does not run (the monitoring page)."""
    import yaml

    path = project_dir / SEMANTIC_MODELS
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LoaderError(f"cannot read the semantic models in {path}: {exc}") from None
    found = {}
    for model in doc.get("semantic_models") or []:
        for measure in model.get("measures") or []:
            aggregate = _AGGREGATES.get(str(measure["agg"]))
            if aggregate is None:
                raise LoaderError(
                    f"{path}: measure {measure['name']}: agg {measure['agg']!r} unknown here"
                )
            found[str(measure["name"])] = aggregate.format(measure.get("expr") or measure["name"])
    return found


def _tool(name: str) -> str:
    """dbt or mf of this environment (the virtualenv elt runs in)."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def point_at(manifest: dict[str, Any], schema: str, database: str | None) -> dict[str, Any]:
    """The semantic manifest with every relation (semantic models, time spine) moved to
    ``schema`` (and ``database``, when given)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if {"alias", "schema_name", "relation_name"} <= value.keys():
                db = database or value.get("database")
                parts = [p for p in (db, schema, value["alias"]) if p]
                return {
                    **value,
                    "schema_name": schema,
                    "database": db,
                    "relation_name": ".".join(_quote(p) for p in parts),
                }
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    moved: dict[str, Any] = walk(manifest)
    return moved


def semantic_manifest(
    project_dir: Path, target_dir: Path, target: str, env: dict[str, str]
) -> Path:
    """`dbt parse` into a folder of its own (the build's manifest.json stays the one
    `elt publish` audits; partial parsing keeps it quick), then the semantic manifest."""
    target_dir = target_dir / "metricflow" / "parse"
    parsed = subprocess.run(
        [_tool("dbt"), "parse", "--quiet", "--target", target, "--project-dir", str(project_dir)],
        env={**env, "DBT_TARGET_PATH": str(target_dir)},
        capture_output=True,
        text=True,
        check=False,
    )
    path = target_dir / "semantic_manifest.json"
    if parsed.returncode != 0 or not path.is_file():
        raise LoaderError(
            f"dbt parse failed, so there is no semantic manifest: {(parsed.stdout + parsed.stderr).strip()[-1500:]}"
        )
    return path


def prepare(ctx: Context, published: bool) -> tuple[Path, dict[str, str]]:
    """A folder `mf` can run in (dbt_project.yml and target/semantic_manifest.json: mf reads
    that fixed path) and the environment to run it with."""
    project_dir, target_dir = ctx.project.dir, ctx.project.dbt_target_dir
    target, environment = ctx.target, ctx.env
    refused = engine(target).no_metrics_on_build
    if not published and refused:
        raise LoaderError(refused)
    env = dict(os.environ)
    source = semantic_manifest(project_dir, target_dir, target.name, env)
    manifest = json.loads(source.read_text())
    env["DBT_TARGET"] = target.name
    env["DBT_PROFILES_DIR"] = str(ctx.project.profiles_dir.resolve())
    if published:
        schema = environment.published_schema
        warehouse = engine(target)
        reason = warehouse.unpublished(environment)
        if reason:
            raise LoaderError(reason)
        catalog, variables = warehouse.published_login_sees(environment)
        env.update(variables)
        manifest = point_at(manifest, schema, catalog)
        # mf loads the profile's default target (ELT_TARGET), whatever DBT_TARGET says
        env["DBT_TARGET"] = env["ELT_TARGET"] = published_login(target)
    folder = target_dir / "metricflow" / ("published" if published else "build")
    (folder / "target").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project_dir / "dbt_project.yml", folder / "dbt_project.yml")
    (folder / "target" / "semantic_manifest.json").write_text(json.dumps(manifest))
    env["DBT_PROJECT_DIR"] = str(folder.resolve())
    env.pop("DBT_TARGET_PATH", None)
    return folder, env


def run_mf(folder: Path, env: dict[str, str], args: list[str]) -> int:
    """`mf <args>` in the prepared folder; its output goes straight to the terminal."""
    return subprocess.run([_tool("mf"), *args], cwd=folder, env=env, check=False).returncode
