"""Recording a run into the history: a database's refusal is one line naming the target, not a
traceback (`elt build` then says the history misses the build and goes on)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg2.errors
import pytest

from elt.errors import LoaderError
from elt.history import runs
from elt.loader import run as loader_run
from elt.tests.conftest import REPO
from elt.warehouse.profile import Target


class Refusing:
    """A warehouse whose role may not alter the history tables (another role owns them)."""

    def prepare(self, tables: set[str]) -> None:
        raise psycopg2.errors.InsufficientPrivilege("must be owner of table _elt_manifest\n")

    def record_run(self, run: Any, nodes: Any) -> bool:  # pragma: no cover - never reached
        return True

    def close(self) -> None:
        pass


def test_a_refused_record_is_one_line_naming_the_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loader_run, "open_warehouse", lambda target, timeout: Refusing())
    target = Target(
        "postgres_loader",
        "postgres",
        {"user": "elt_loader", "host": "h", "port": 5432, "dbname": "d"},
    )
    now = dt.datetime.now(dt.UTC)
    record = runs.from_load(
        "20261206T000000Z-abcdef", runs.context_for("postgres_loader", REPO, "prod"), now, now, True
    )
    with pytest.raises(LoaderError) as caught:
        loader_run.record(record, target)
    assert str(caught.value) == (
        "cannot record the run in target 'postgres_loader' (postgres elt_loader@h:5432/d): "
        "must be owner of table _elt_manifest"
    )
