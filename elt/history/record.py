"""Append a run to the warehouse's run history, idempotently (a rerun for the same invocation adds nothing)."""

from __future__ import annotations

from pathlib import Path

from elt.history.runs import RunRecord
from elt.loader.profile import load_target
from elt.loader.run import open_warehouse


def record(
    run: RunRecord,
    project_dir: Path,
    profiles_dir: Path | None,
    target: str | None,
    lock_timeout: float = 60.0,
) -> bool:
    """Write the run through the loader's target (the loader's role owns the bookkeeping);
    True when it was new."""
    warehouse = open_warehouse(load_target(project_dir, profiles_dir, target), lock_timeout)
    try:
        warehouse.prepare(set())  # the history tables, on a warehouse older than them
        return warehouse.record_run(run.run, run.nodes)
    finally:
        warehouse.close()
