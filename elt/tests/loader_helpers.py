"""Helpers for loader tests: a target to load into and query, on DuckDB or PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from elt.loader.run import LoadOptions, LoadReport, load
from elt.tests.conftest import REPO, pg_settings
from elt.warehouse.profile import load_target


@dataclasses.dataclass
class Wh:
    """A throwaway warehouse of one kind, with the environment that points dbt and the loader at it."""

    kind: str  # duckdb | postgres
    env: dict[str, str]

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.kind == "duckdb":
            con = duckdb.connect(self.env["ELT_DUCKDB_PATH"], read_only=True)
            try:
                yield con
            finally:
                con.close()
        else:
            s = pg_settings()
            conn = psycopg2.connect(
                host=s["host"],
                port=s["port"],
                user=s["user"],
                password=s["password"],
                dbname=self.env["ELT_PG_DATABASE"],
            )
            try:
                yield conn
            finally:
                conn.close()

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with self.connect() as con:
            if self.kind == "duckdb":
                return [tuple(r) for r in con.execute(query).fetchall()]
            with con.cursor() as cur:
                cur.execute(query)
                return [tuple(r) for r in cur.fetchall()]

    def raw(self, table: str, schema: str = "raw") -> str:
        """A raw table as the models read it (``raw_rows``): on PostgreSQL, a row's path and
        batch come from the manifest by its ``_file_id``."""
        if self.kind == "duckdb":
            return f"{schema}.{table}"
        return (
            f"(select r.*, m.batch_id as _batch_id, m.file_path as _source_file "
            f"from {schema}.{table} as r join raw._elt_manifest as m on m.file_id = r._file_id) as {table}"
        )

    def execute(self, statements: list[str]) -> None:
        """Run statements with a writable connection, committed (DuckDB: the file must be free)."""
        if self.kind == "duckdb":
            con = duckdb.connect(self.env["ELT_DUCKDB_PATH"])
            try:
                for statement in statements:
                    con.execute(statement)
            finally:
                con.close()
            return
        with self.connect() as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            conn.commit()

    def load(self, data: Path, project: Path = REPO, **kw: Any) -> LoadReport:
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            return load(
                LoadOptions(
                    project_dir=project,
                    data_dir=data,
                    target=load_target(REPO, REPO, self.kind),
                    **kw,
                )
            )
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def make_wh(kind: str, tmp: Path, pg_database: str | None) -> Wh:
    env = {"ELT_TARGET": kind, "ELT_DUCKDB_PATH": str(tmp / "warehouse.duckdb")}
    if kind == "postgres":
        assert pg_database
        s = pg_settings()
        env.update(
            ELT_PG_HOST=s["host"],
            ELT_PG_PORT=s["port"],
            ELT_PG_USER=s["user"],
            ELT_PG_PASSWORD=s["password"],
            ELT_PG_DATABASE=pg_database,
        )
    return Wh(kind, env)


def a_file_committed(events: Path) -> bool:
    """Whether `elt load --log-json` has reported a first committed file."""
    if not events.exists():
        return False
    for line in events.read_text().splitlines():
        try:
            if json.loads(line).get("event") == "file_loaded":
                return True
        except ValueError:  # a line still being written
            continue
    return False


def kill_load_after_first_file(target: str, data: Path, env: dict[str, str], events: Path) -> None:
    """`elt load`, killed (-9) as soon as its JSON events report a first committed file (they
    are flushed per file): mid-way whatever the machine's load, no timing guess."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "elt",
            "load",
            "--target",
            target,
            "--data-dir",
            str(data),
            "--quiet",
            "--log-json",
            str(events),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline and not a_file_committed(events):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
