"""`elt archive`: loaded files leave the data directory after their retention, archived so
raw can be rebuilt byte for byte, or deleted (raw then is the only copy); nothing loads twice."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elt.loader.archive import run_archive
from elt.tests.conftest import REPO, run_elt
from elt.tests.loader_helpers import Wh
from elt.tests.test_loader_edges import project, write
from elt.warehouse.profile import load_target

SOURCES = """
version: 2
sources:
  - name: corpus
    schema: raw
    tables:
      - name: things
        identifier: corpus__things
        config: {meta: {elt: {path: "things/*.csv*", format: csv, retention: {days: 30, action: archive}}}}
      - name: rates
        identifier: corpus__rates
        config: {meta: {elt: {path: "rates/*.parquet", format: parquet, retention: {days: 30, action: delete}}}}
      - name: events
        identifier: corpus__events
        config: {meta: {elt: {path: "events/*.jsonl", format: jsonl}}}
"""


def _digests(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file()
    }


def test_archive_restores_byte_for_byte_and_delete_is_final(
    wh: Wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, vault = tmp_path / "data", tmp_path / "archive"
    write(data, "things/a.csv", b'id,name\n1,alpha\n2,\xffbad\n3,"quoted, comma"\n4,no newline')
    write(data, "things/b.csv.gz", gzip.compress(b"id,name\n5,e\n"))
    (data / "rates").mkdir()
    pq.write_table(pa.table({"id": ["7"]}), data / "rates" / "r.parquet")
    write(data, "events/e.jsonl", b'{"id": 1}\n')
    proj = project(tmp_path, SOURCES)
    assert wh.load(data, project=proj).ok
    before = _digests(data)
    rows = wh.sql("select count(*) from raw.corpus__things")

    for key, value in wh.env.items():
        monkeypatch.setenv(key, value)

    def archive(**kw: Any) -> list[tuple[str, str]]:
        done = run_archive(proj, data, vault, load_target(REPO, REPO, wh.kind), **kw)
        return sorted((a.rel, a.action) for a in done)

    # loaded just now: inside every retention, nothing moves
    assert archive() == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert archive(now=later) == [
        ("rates/r.parquet", "deleted"),
        ("things/a.csv", "archived"),
        ("things/b.csv.gz", "archived"),
    ]
    assert not (data / "things" / "a.csv").exists()
    assert (data / "events" / "e.jsonl").exists()  # no retention: stays
    assert (vault / "things" / "a.csv.parquet").is_file()  # lines, zstd
    assert (vault / "things" / "b.csv.gz").is_file()  # compressed already: as it is
    # the loader sees nothing new and loads nothing twice
    again = wh.load(data, project=proj)
    assert again.ok
    assert wh.sql("select count(*) from raw.corpus__things") == rows

    # restore: the archived files come back byte for byte; the deleted one does not
    assert archive(restore_files=True) == [
        ("things/a.csv", "restored"),
        ("things/b.csv.gz", "restored"),
    ]
    after = _digests(data)
    assert {k: v for k, v in before.items() if k != "rates/r.parquet"} == after

    # rebuild: a fresh warehouse loads the restored files to the same raw rows
    fresh = Wh(wh.kind, {**wh.env, "ELT_DUCKDB_PATH": str(tmp_path / "rebuilt.duckdb")})
    if wh.kind == "duckdb":
        rebuilt = fresh.load(data, project=proj)
        assert {r.status for r in rebuilt.results} == {"loaded"}
        assert fresh.sql("select count(*) from raw.corpus__things") == rows


def test_archive_cli_needs_a_directory_and_reports(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "things/a.csv", b"id\n1\n")
    proj = project(tmp_path, SOURCES)
    assert wh.load(data, project=proj).ok
    args = [
        "archive",
        "--target",
        wh.kind,
        "--data-dir",
        str(data),
        "--project-dir",
        str(proj),
        "--profiles-dir",
        str(REPO),
    ]
    nodir = run_elt(*args, "--older-than", "0", env=wh.env)
    assert nodir.returncode == 2
    assert "set --archive-dir or ELT_ARCHIVE_DIR" in nodir.stderr
    gone = run_elt(*args, "--older-than", "0", "--delete", env=wh.env)
    assert gone.returncode == 0, gone.stderr
    assert "1 deleted" in gone.stdout
    assert "cannot be loaded again" in gone.stderr
    assert not (data / "things" / "a.csv").exists()
    bad = run_elt(*args, "--delete", env=wh.env)
    assert bad.returncode == 2
