"""A run as rows of ``_elt_runs`` and ``_elt_run_nodes`` (elt/history/tables.py).

dbt's ``run_results.json`` is overwritten by every invocation; its content goes here, one row
per invocation and one per node, so builds can be compared over weeks. A load is one row too:
its per-file results are already in the manifest (batch_id = the run's invocation_id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from elt.environment import git_commit
from elt.errors import LoaderError
from elt.history.tables import RUN_NODES, RUNS

# the nodes worth keeping: run_results also lists exposures and the like (status no-op)
NODE_TYPES = frozenset({"model", "test", "unit_test", "seed", "snapshot", "operation"})
# dbt statuses that make a run an error; "warn" makes it a warning
ERROR_STATUSES = frozenset({"error", "fail", "runtime error", "skipped"})
# a run's status when the night had nothing new to build (elt.scope)
SKIPPED = "skipped"


@dataclasses.dataclass(frozen=True)
class RunContext:
    """Where a run happened: recorded with every run."""

    environment: str  # prod, dev_<user>, ci_<run>
    target: str
    git_commit: str | None
    orchestrator_run_id: str | None = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    invocation_id: str
    command: str
    status: str
    run: pa.Table  # one row of RUNS
    nodes: pa.Table  # RUN_NODES rows (none for a load)

    def describe(self) -> str:
        what = "elt load" if self.command == "load" else f"dbt {self.command}"
        nodes = f", {self.nodes.num_rows} nodes" if self.nodes.num_rows else ""
        return f"{what} {self.invocation_id} ({self.status}{nodes})"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def run_status(statuses: list[str], exit_code: int | None) -> str:
    if (exit_code or 0) != 0 or any(s in ERROR_STATUSES for s in statuses):
        return "error"
    return "warn" if "warn" in statuses else "success"


def _node_name(unique_id: str) -> str:
    """model.pkg.fct_orders -> fct_orders; unit_test.pkg.model.case -> model.case."""
    parts = unique_id.split(".")
    if parts[0] == "unit_test":
        return ".".join(parts[2:])
    return parts[2] if len(parts) > 2 else unique_id


def _node_row(invocation_id: str, result: dict[str, Any]) -> tuple[object, ...]:
    unique_id = str(result["unique_id"])
    execute: dict[str, Any] = next(
        (t for t in result.get("timing") or [] if t.get("name") == "execute"), {}
    )
    rows = (result.get("adapter_response") or {}).get("rows_affected")
    failures = result.get("failures")
    message = result.get("message")
    return (
        invocation_id,
        unique_id,
        unique_id.split(".")[0],
        _node_name(unique_id),
        str(result.get("status")),
        _timestamp(execute.get("started_at")),
        _timestamp(execute.get("completed_at")),
        float(result.get("execution_time") or 0.0),
        int(rows) if isinstance(rows, int) and rows >= 0 else None,
        int(failures) if isinstance(failures, int) else None,
        str(message) if message is not None else None,
    )


def from_dbt_results(path: Path, context: RunContext, exit_code: int | None = None) -> RunRecord:
    """A dbt invocation from its run_results.json."""
    try:
        results = json.loads(path.read_text())
        metadata = results["metadata"]
        invocation_id = str(metadata["invocation_id"])
        nodes = [
            _node_row(invocation_id, r)
            for r in results["results"]
            if str(r["unique_id"]).split(".")[0] in NODE_TYPES
        ]
    except FileNotFoundError:
        raise LoaderError(
            f"{path} does not exist: no dbt invocation to record (did dbt start?)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LoaderError(f"{path} is not a dbt run_results.json: {exc!r}") from None
    finished = _timestamp(metadata.get("generated_at")) or utcnow()
    started = _timestamp(metadata.get("invocation_started_at")) or (
        finished - dt.timedelta(seconds=float(results.get("elapsed_time") or 0))
    )
    command = str((results.get("args") or {}).get("which") or "dbt")
    status = run_status([str(n[4]) for n in nodes], exit_code)
    return _record(invocation_id, command, context, started, finished, status, exit_code, nodes)


def from_load(
    batch_id: str,
    context: RunContext,
    started: dt.datetime,
    finished: dt.datetime,
    ok: bool,
    exit_code: int | None = None,
) -> RunRecord:
    """An `elt load` run; its files are in the manifest under the same batch id."""
    status = "success" if ok else "error"
    return _record(batch_id, "load", context, started, finished, status, exit_code, [])


def nothing_new(context: RunContext) -> RunRecord:
    """A night's build that did not run: no file arrived since the last published night
    (``elt.scope``). Recorded as a skipped `dbt build` without nodes."""
    at = utcnow()
    return _record(f"nothing-new-{uuid.uuid4()}", "build", context, at, at, SKIPPED, 0, [])


def _record(
    invocation_id: str,
    command: str,
    context: RunContext,
    started: dt.datetime,
    finished: dt.datetime,
    status: str,
    exit_code: int | None,
    nodes: list[tuple[object, ...]],
) -> RunRecord:
    run = RUNS.rows(
        [
            (
                invocation_id,
                command,
                context.environment,
                context.target,
                context.git_commit,
                context.orchestrator_run_id,
                started,
                finished,
                status,
                exit_code,
                utcnow(),
            )
        ]
    )
    return RunRecord(invocation_id, command, status, run, RUN_NODES.rows(nodes))


def context_for(target: str, project_dir: Path, environment: str) -> RunContext:
    """The commit and orchestrator run of the process recording a run, in ``environment``
    (its label: prod, dev_<user>, ci_<run>)."""
    return RunContext(
        environment=environment,
        target=target,
        git_commit=git_commit(project_dir),
        # Airflow sets AIRFLOW_CTX_DAG_RUN_ID in its tasks' environment
        orchestrator_run_id=os.environ.get("ELT_ORCHESTRATOR_RUN_ID")
        or os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
        or None,
    )
