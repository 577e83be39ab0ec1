"""Is a build fit to publish? Read from dbt's run_results.json and manifest.json of the build."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

from elt.alert import node_name
from elt.errors import LoaderError

# exposures and saved queries report no-op in a build
OK_STATUSES = {"success", "pass", "warn", "no-op"}
AUDITED_RESOURCES = ("model", "seed", "snapshot", "test")
PUBLISHED_MATERIALIZATIONS = ("table", "incremental")


@dataclasses.dataclass(frozen=True)
class Mart:
    name: str  # the relation's name (alias)
    database: str
    schema: str  # in the build area
    analyst_access: bool  # meta.analyst_access: analysts may read it once published
    unique_id: str = ""  # the manifest's node (its meta.audit declares the diff and gates)


@dataclasses.dataclass
class Audit:
    invocation_id: str
    built_at: str  # when dbt wrote the results (UTC, ISO)
    statuses: dict[str, int]  # status -> number of nodes (tests and models alike)
    tests: dict[str, int]  # status -> number of data and unit tests
    problems: list[str]  # why the build may not be published; empty when it may
    marts: list[Mart]
    loads: tuple[str, str]  # the loader's manifest (schema, table): which loads the build saw
    failed_tests: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # run results
    unchanged: int = 0  # nodes a scoped night left as the last published night built them

    @property
    def passed(self) -> bool:
        return not self.problems


def read_artifact(path: Path, what: str) -> dict[str, Any]:
    """A dbt artifact (manifest, run results) as JSON, or a one-line error naming it."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except FileNotFoundError:
        raise LoaderError(f"no {what} at {path}: run `dbt build` first") from None
    except (OSError, ValueError) as exc:
        raise LoaderError(f"cannot read {what} {path}: {exc}") from None


def marts_of(manifest: dict[str, Any]) -> list[Mart]:
    """The project's models under models/marts/ that hold data (tables, incremental)."""
    project = manifest["metadata"].get("project_name")
    marts = []
    for node in manifest["nodes"].values():
        config = node.get("config") or {}
        if (
            node["resource_type"] == "model"
            and node["package_name"] == project
            and len(node["fqn"]) > 2
            and node["fqn"][1] == "marts"
            and config.get("materialized") in PUBLISHED_MATERIALIZATIONS
        ):
            marts.append(
                Mart(
                    name=node.get("alias") or node["name"],
                    database=node["database"],
                    schema=node["schema"],
                    analyst_access=bool((config.get("meta") or {}).get("analyst_access", False)),
                    unique_id=node["unique_id"],
                )
            )
    return sorted(marts, key=lambda m: m.name)


def audited_by(label: str, manifest_path: Path) -> Audit:
    """A build an orchestrator audited itself, node by node (Airflow: the publish task runs
    only when every model and test task upstream succeeded); ``label`` names that run."""
    manifest = read_artifact(manifest_path, "dbt manifest")
    marts = marts_of(manifest)
    return Audit(
        invocation_id=label,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        statuses={},
        tests={},
        problems=[] if marts else ["the manifest has no mart (models/marts/) to publish"],
        marts=marts,
        loads=_loads(manifest, manifest_path),
    )


def _loads(manifest: dict[str, Any], manifest_path: Path) -> tuple[str, str]:
    project = manifest["metadata"].get("project_name")
    loads = manifest.get("sources", {}).get(f"source.{project}.elt.manifest")
    if loads is None:
        raise LoaderError(f"{manifest_path} has no source elt.manifest (the loader's manifest)")
    return (loads["schema"], loads["identifier"])


def _scoped_as(
    args: dict[str, Any], selection: tuple[str, ...], excluded_types: tuple[str, ...]
) -> bool:
    """Whether the build selected exactly the night's scope: its selection, the resource
    types it leaves out, and nothing else left out."""
    return (
        sorted(args.get("select") or []) == sorted(selection)
        and sorted(args.get("exclude_resource_types") or []) == sorted(excluded_types)
        and not args.get("exclude")
        and not args.get("resource_types")
    )


def audit(
    run_results: Path,
    manifest_path: Path,
    selection: tuple[str, ...] = (),
    excluded_types: tuple[str, ...] = (),
) -> Audit:
    """Publishable when one full `dbt build` ran every node of the project and none failed:
    a failed test, a model in error, a node skipped because its parent failed, or a node the
    build did not run at all (a partial selection) each block publication.

    ``selection`` is a scoped night's (``elt.scope``): the build selected what new data
    reaches, the nodes it did not select stand as the last published night built and tested
    them (and the resource types it leaves out, ``excluded_types``: unit tests of unchanged
    code). They count as unchanged only when the build's own selection is exactly this one,
    with no other exclusion or resource-type filter."""
    results = read_artifact(run_results, "dbt run results")
    manifest = read_artifact(manifest_path, "dbt manifest")
    meta = results.get("metadata") or {}
    ran = {r["unique_id"]: str(r.get("status", "")).lower() for r in results.get("results", [])}
    problems: list[str] = []
    command = (results.get("args") or {}).get("which")
    if command != "build":
        problems.append(f"the last dbt command was `dbt {command}`, not `dbt build`")
    if manifest["metadata"].get("invocation_id") != meta.get("invocation_id"):
        problems.append(
            f"{manifest_path} and {run_results} come from different dbt invocations: "
            "publish right after `dbt build`"
        )
    failed = sorted(uid for uid, status in ran.items() if status not in OK_STATUSES)
    broken = [uid for uid in failed if ran[uid] != "skipped"]
    if broken:
        problems.append(
            f"{len(broken)} node(s) failed: "
            + ", ".join(f"{node_name(uid)} ({ran[uid]})" for uid in broken[:8])
            + (", ..." if len(broken) > 8 else "")
        )
    if len(failed) > len(broken):
        problems.append(f"{len(failed) - len(broken)} node(s) skipped after a failure upstream")
    expected = [
        uid
        for uid, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items()
        if node["resource_type"] in (*AUDITED_RESOURCES, "unit_test")
    ]
    missing = sorted(uid for uid in expected if uid not in ran)
    unchanged = 0
    if selection and missing and _scoped_as(results.get("args") or {}, selection, excluded_types):
        unchanged, missing = len(missing), []
    if missing:
        problems.append(
            f"{len(missing)} node(s) of the project were not part of this build: "
            + ", ".join(node_name(uid) for uid in missing[:8])
            + (", ..." if len(missing) > 8 else "")
            + " (publish only after a full `dbt build`)"
        )
    marts = marts_of(manifest)
    if not marts:
        problems.append("the manifest has no mart (models/marts/) to publish")
    tests = Counter(
        status for uid, status in ran.items() if uid.startswith(("test.", "unit_test."))
    )
    failed_tests = [
        r
        for r in results.get("results", [])
        if str(r.get("unique_id", "")).startswith("test.") and r.get("status") in ("fail", "error")
    ]
    return Audit(
        failed_tests=failed_tests,
        invocation_id=str(meta.get("invocation_id")),
        built_at=str(meta.get("generated_at")),
        statuses=dict(Counter(ran.values())),
        tests=dict(tests),
        problems=problems,
        marts=marts,
        loads=_loads(manifest, manifest_path),
        unchanged=unchanged,
    )
