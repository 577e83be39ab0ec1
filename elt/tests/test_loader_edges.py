"""The loader on hand-made files: malformed rows, drift, a general (non-shop) source, errors, locks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg2
import pytest

from elt.loader.bookkeeping import Note, NoteKind
from elt.tests.conftest import REPO, invoke_elt, pg_settings
from elt.tests.loader_helpers import Wh, make_wh
from elt.warehouse.postgres import LOCK_KEY

SOURCES = """
version: 2
sources:
  - name: corpus
    schema: raw
    tables:
      - name: things
        identifier: corpus__things
        config:
          meta:
            elt: {path: "things/*.csv", format: csv}
      - name: events
        identifier: corpus__events
        config:
          meta:
            elt: {path: "events/*.jsonl", format: jsonl}
      - name: pipes
        identifier: corpus__pipes
        config:
          meta:
            elt: {path: "pipes/*.txt", format: csv, delimiter: "|"}
"""


def project(tmp: Path, sources: str = SOURCES) -> Path:
    """A dbt project of its own: the loader is configured by its sources alone."""
    root = tmp / "project"
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: corpus\nprofile: elt_warehouse\n")
    (root / "models" / "_corpus__sources.yml").write_text(sources)
    return root


def write(data: Path, rel: str, content: bytes, complete: bool = True) -> None:
    """A delivered file. One whose last line has no newline is dated two minutes back when
    ``complete`` (a writer that finished long ago): a fresh one is taken for a file still
    being written and left for the next run."""
    path = data / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if complete and content and not content.endswith((b"\n", b"\r")):
        then = time.time() - 120
        os.utime(path, (then, then))


def quarantine(wh: Wh, rel: str) -> dict[int, str]:
    return dict(
        wh.sql(
            f"select line_number, reason from raw._elt_quarantine where file_path = '{rel}' order by 1"
        )
    )


def test_malformed_rows_go_to_quarantine_with_lines_and_reasons(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(
        data,
        "things/a.csv",
        (
            b"id,name,qty\n"
            b"1,alpha,3\n"
            b"2,beta\n"  # 3: a field too few
            b"3,gamma,4,extra\n"  # 4: a field too many
            b'4,"del"ta,5\n'  # 5: text after a closing quote
            b"5,\xffepsilon,6\n"  # 6: not UTF-8
            b'6,"",7\n'  # empty string, kept
            b"7,,8\n"  # null, kept
            b'8,"multi, comma",9\n'  # quoted delimiter, kept
            b'9,"open quote,10\n'  # 10: quote never closed: swallows the rest
            b"10,zeta,11\n"  # 11: swallowed
        ),
    )
    write(data, "things/b.csv", b"id,name,qty\n")  # header only: loads, no rows
    write(data, "things/c.csv", b"")  # empty: no header, fails alone
    write(
        data,
        "events/a.jsonl",
        (
            b'{"id": 1, "kind": "click"}\n'
            b'{"id": 2, "kind": "vi\n'  # 2: cut short
            b'{"id": 3, "kind": "\xff"}\n'  # 3: not UTF-8
            b"[1, 2]\n"  # 4: not an object
            b"\n"  # 5: blank
            b'{"id": 6, "kind": "view", "extra": {"a": 1}}\n'
        ),
    )
    write(data, "pipes/a.txt", b"id|name\n1|a,b\n2|c|d\n")
    report = wh.load(data, project=project(tmp_path))
    by_file = {r.file.rel: r for r in report.results}
    assert not report.ok  # the empty file failed ...
    assert by_file["things/c.csv"].status == "failed"
    assert "empty file" in by_file["things/c.csv"].message
    assert {rel: r.status for rel, r in by_file.items() if rel != "things/c.csv"} == {
        "things/a.csv": "loaded",
        "things/b.csv": "loaded",
        "events/a.jsonl": "loaded",
        "pipes/a.txt": "loaded",
    }  # ... the rest loaded

    q = quarantine(wh, "things/a.csv")
    assert sorted(q) == [3, 4, 5, 6, 10, 11]
    assert "MISSING COLUMNS" in q[3]
    assert "TOO MANY COLUMNS" in q[4]
    assert "UNQUOTED VALUE" in q[5]
    assert "INVALID ENCODING" in q[6]
    assert "swallowed" in q[11]
    raw6 = wh.sql(
        "select raw_line from raw._elt_quarantine where file_path = 'things/a.csv' and line_number = 6"
    )[0][0]
    assert raw6 == "5,\\xffepsilon,6"  # the exact bytes, shown escaped
    rows = wh.sql("select id, name, qty, _row_number from raw.corpus__things order by _row_number")
    assert rows == [
        ("1", "alpha", "3", 2),
        ("6", "", "7", 7),
        ("7", None, "8", 8),
        ("8", "multi, comma", "9", 9),
    ]

    q = quarantine(wh, "events/a.jsonl")
    assert sorted(q) == [2, 3, 4, 5]
    assert "INVALID JSON" in q[2]
    assert "INVALID ENCODING" in q[3]
    assert "NOT AN OBJECT" in q[4]
    assert "BLANK" in q[5]
    assert wh.sql(
        "select id, kind, extra, _row_number from raw.corpus__events order by _row_number"
    ) == [("1", "click", None, 1), ("6", "view", '{"a":1}', 6)]

    assert wh.sql("select id, name from raw.corpus__pipes") == [("1", "a,b")]
    assert sorted(quarantine(wh, "pipes/a.txt")) == [3]

    manifest = wh.sql(
        "select file_path, rows_in_file, rows_loaded, rows_quarantined, status from raw._elt_manifest order by 1"
    )
    assert manifest == [
        ("events/a.jsonl", 6, 2, 4, "loaded"),
        ("pipes/a.txt", 2, 1, 1, "loaded"),
        ("things/a.csv", 10, 4, 6, "loaded"),
        ("things/b.csv", 0, 0, 0, "loaded"),
        ("things/c.csv", 0, 0, 0, "failed"),
    ]
    # a failed file is tried again on the next run; once fixed, it loads
    write(data, "things/c.csv", b"id,name,qty\n11,eta,12\n")
    again = wh.load(data, project=project(tmp_path))
    assert again.ok
    assert {r.file.rel: r.status for r in again.results}["things/c.csv"] == "loaded"


def test_schema_drift_is_added_reported_or_refused(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "things/2025-01-01.csv", b"id,name,qty\n1,a,1\n")
    write(data, "things/2025-01-02.csv", b"id,name,qty,colour\n2,b,2,red\n")  # new column
    write(data, "things/2025-01-03.csv", b"id,qty\n3,3\n")  # name missing
    write(data, "things/2025-01-04.csv", b"sku,price\nX,9.99\n")  # nothing shared
    write(data, "events/2025-01-01.jsonl", b'{"id": 1}\n')
    write(data, "events/2025-01-02.jsonl", b'{"id": 2, "late": true}\n')  # new key
    report = wh.load(data, project=project(tmp_path))
    by_file = {r.file.rel: r for r in report.results}
    things = "raw.corpus__things"
    assert by_file["things/2025-01-02.csv"].drift == [
        Note(NoteKind.COLUMN_ADDED, "colour", table=things)
    ]
    assert (
        "new column colour added to raw.corpus__things" in by_file["things/2025-01-02.csv"].message
    )
    assert by_file["things/2025-01-03.csv"].drift == [
        Note(NoteKind.COLUMN_MISSING, "name", table=things),
        Note(NoteKind.COLUMN_MISSING, "colour", table=things),
    ]
    refused = by_file["things/2025-01-04.csv"]
    assert refused.status == "failed"
    assert "share nothing with raw.corpus__things" in refused.message
    assert by_file["events/2025-01-02.jsonl"].drift == [
        Note(NoteKind.COLUMN_ADDED, "late", table="raw.corpus__events")
    ]
    assert any("colour" in d for d in report.drift)
    assert any("late" in d for d in report.drift)
    assert wh.sql("select id, name, qty, colour from raw.corpus__things order by id") == [
        ("1", "a", "1", None),
        ("2", "b", "2", "red"),
        ("3", None, "3", None),
    ]
    assert wh.sql("select id, late from raw.corpus__events order by id") == [
        ("1", None),
        ("2", "true"),
    ]
    columns = [
        c
        for (c,) in wh.sql(
            "select column_name from information_schema.columns where table_name = 'corpus__things'"
        )
    ]
    assert "sku" not in columns
    assert "price" not in columns


def test_max_quarantine_rate_fails_the_file_and_the_run(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(
        data,
        "things/good.csv",
        b"id,name,qty\n" + b"".join(b"%d,n,1\n" % i for i in range(99)) + b"x,y\n",
    )
    write(data, "things/bad.csv", b"id,name,qty\n1,a,1\n2\n3\n4\n")
    report = wh.load(data, project=project(tmp_path), max_quarantine_rate=0.05)
    status = {r.file.rel: r for r in report.results}
    assert status["things/good.csv"].status == "loaded"
    assert status["things/bad.csv"].status == "failed"
    assert "above --max-quarantine-rate 5.0%" in status["things/bad.csv"].message
    assert not report.ok
    assert wh.sql(
        f"select count(*) from {wh.raw('corpus__things')} where _source_file = 'things/bad.csv'"
    ) == [(0,)]
    assert quarantine(wh, "things/bad.csv") == {}


def _cli(wh: Wh, *args: str) -> subprocess.CompletedProcess[str]:
    return invoke_elt("load", "--target", wh.kind, "--quiet", *args, env=wh.env)


def test_cli_exit_codes_and_summary(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "things/a.csv", b"id,name,qty\n1,a,1\n")
    ok = _cli(
        wh,
        "--data-dir",
        str(data),
        "--project-dir",
        str(project(tmp_path)),
        "--profiles-dir",
        str(REPO),
    )
    assert ok.returncode == 0, ok.stderr
    assert "corpus.things" in ok.stdout
    assert "every file loaded" in ok.stdout
    write(data, "things/b.csv", b"")
    failed = _cli(
        wh,
        "--data-dir",
        str(data),
        "--project-dir",
        str(project(tmp_path)),
        "--profiles-dir",
        str(REPO),
    )
    assert failed.returncode == 1
    assert "things/b.csv: empty file" in failed.stderr


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (
            SOURCES.replace("format: jsonl", "format: xml"),
            "meta.elt.format 'xml' is not one of csv, jsonl, parquet",
        ),
        (
            SOURCES.replace('path: "things/*.csv", ', ""),
            "corpus.things in models/_corpus__sources.yml: meta.elt lacks path",
        ),
        (
            SOURCES.replace('delimiter: "|"', 'delimiter: "||"'),
            "meta.elt.delimiter must be one character",
        ),
        (
            SOURCES.replace("format: csv}", "format: csv, key: [id]}", 1),
            "corpus.things in models/_corpus__sources.yml: meta.elt has unknown setting(s) key",
        ),
        ("sources: [oops", "invalid YAML"),
        ("version: 2\n", "no source table under"),
    ],
)
def test_bad_config_is_reported(tmp_path: Path, sources: str, message: str) -> None:
    (tmp_path / "data").mkdir()
    result = invoke_elt(
        "load",
        "--data-dir",
        str(tmp_path / "data"),
        "--project-dir",
        str(project(tmp_path, sources)),
        "--profiles-dir",
        str(REPO),
        env={"ELT_DUCKDB_PATH": str(tmp_path / "w.duckdb")},
    )
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_paths_and_unknown_names_are_reported(tmp_path: Path) -> None:
    env = {"ELT_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    missing = invoke_elt("load", "--data-dir", str(tmp_path / "nowhere"), env=env)
    assert missing.returncode == 2
    assert f"data directory {tmp_path / 'nowhere'} does not exist" in missing.stderr
    (tmp_path / "data").mkdir()
    target = invoke_elt(
        "load", "--data-dir", str(tmp_path / "data"), "--target", "snowflake", env=env
    )
    assert target.returncode == 2
    assert "target 'snowflake' is not in profile 'elt_warehouse'" in target.stderr
    table = invoke_elt(
        "load", "--data-dir", str(tmp_path / "data"), "--table", "shop.nope", env=env
    )
    assert table.returncode == 2
    assert "unknown source table(s) shop.nope" in table.stderr
    profiles = invoke_elt(
        "load", "--data-dir", str(tmp_path / "data"), "--profiles-dir", str(tmp_path), env=env
    )
    assert profiles.returncode == 2
    assert f"no profiles.yml in {tmp_path}" in profiles.stderr


@pytest.mark.postgres
def test_unreachable_or_missing_postgres_is_reported_without_the_password(
    postgres_available: None, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    base = {
        "ELT_PG_HOST": "127.0.0.1",
        "ELT_PG_USER": "postgres",
        "ELT_PG_PASSWORD": "s3cret-value",
    }
    down = invoke_elt(
        "load",
        "--target",
        "postgres",
        "--data-dir",
        str(tmp_path / "data"),
        env={**base, "ELT_PG_PORT": "1"},
    )
    assert down.returncode == 3  # transient: the server may be back at the next try
    assert "cannot connect to target 'postgres' (postgres postgres@127.0.0.1:1/" in down.stderr
    assert "s3cret-value" not in down.stderr + down.stdout
    nodb = invoke_elt(
        "load",
        "--target",
        "postgres",
        "--data-dir",
        str(tmp_path / "data"),
        env={**base, "ELT_PG_PORT": pg_settings()["port"], "ELT_PG_DATABASE": "no_such_db_here"},
    )
    assert nodb.returncode == 2  # a setting to fix
    assert 'database "no_such_db_here" does not exist' in nodb.stderr
    assert "s3cret-value" not in nodb.stderr


def test_second_duckdb_loader_waits_then_gives_up_clearly(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    data = tmp_path / "data"
    write(data, "things/a.csv", b"id,name,qty\n1,a,1\n")
    args = [
        "load",
        "--data-dir",
        str(data),
        "--project-dir",
        str(project(tmp_path)),
        "--profiles-dir",
        str(REPO),
        "--quiet",
    ]
    holder = duckdb.connect(
        str(path)
    )  # another process would hold the same lock; this one holds it in-process
    holder.close()
    blocker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(3)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert blocker.stdout is not None
    assert blocker.stdout.readline().strip() == "held"
    began = time.monotonic()
    gave_up = invoke_elt(*args, "--lock-timeout", "1", env={"ELT_DUCKDB_PATH": str(path)})
    assert gave_up.returncode == 3
    assert "is in use by another process" in gave_up.stderr
    assert "waited 1 s" in gave_up.stderr
    assert 0.9 < time.monotonic() - began < 10
    waited = invoke_elt(
        *args, "--lock-timeout", "30", env={"ELT_DUCKDB_PATH": str(path)}
    )  # the blocker lets go after 3 s
    blocker.wait()
    assert waited.returncode == 0, waited.stderr


@pytest.mark.postgres
def test_postgres_loaders_take_turns(pg_database: str, tmp_path: Path) -> None:
    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    for i in range(20):
        write(
            data,
            f"things/{i:02d}.csv",
            b"id,name,qty\n" + b"".join(b"%d,n,1\n" % j for j in range(2000)),
        )
    s = pg_settings()
    holder = psycopg2.connect(
        host=s["host"],
        port=s["port"],
        user=s["user"],
        password=s["password"],
        dbname=wh.env["ELT_PG_DATABASE"],
    )
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
    args = [
        "--data-dir",
        str(data),
        "--project-dir",
        str(project(tmp_path)),
        "--profiles-dir",
        str(REPO),
    ]
    blocked = _cli(wh, *args, "--lock-timeout", "1")
    assert blocked.returncode == 3  # transient: retry later
    assert "another elt load is running on target 'postgres'" in blocked.stderr
    holder.close()
    env = {**os.environ, **wh.env}
    cmd = [sys.executable, "-m", "elt", "load", "--target", "postgres", "--quiet", *args]
    both = [
        subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in both]
    assert [p.returncode for p in both] == [0, 0], outs
    assert wh.sql(
        f"select count(*), count(distinct (_source_file, _row_number)) from {wh.raw('corpus__things')}"
    ) == [(40_000, 40_000)]
    assert wh.sql("select count(*) from raw._elt_manifest") == [(20,)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB file system (tmpfs), where a day of sample files does not fit."""
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}"
        )
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_stops_the_load_clearly_and_a_rerun_finishes_it(
    small_disk: Path, tmp_path: Path
) -> None:
    """Disk full (DuckDB): exit 3 with a one-line reason, no traceback; moved to a disk with
    room, a rerun loads the rest and the warehouse equals a load that never failed."""
    import datetime as dt

    from elt.generator.config import GeneratorConfig
    from elt.generator.run import generate

    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.02, seed=2, start=dt.date(2025, 3, 3)), days=4)

    def load_into(path: Path) -> subprocess.CompletedProcess[str]:
        return invoke_elt(
            "load",
            "--target",
            "duckdb",
            "--data-dir",
            str(data),
            "--quiet",
            env={"ELT_DUCKDB_PATH": str(path)},
        )

    full = load_into(small_disk / "warehouse.duckdb")
    assert full.returncode == 3, full.stderr[-2000:]
    assert "the disk is full" in full.stderr
    assert "No space left on device" in full.stderr
    assert "Traceback" not in full.stderr
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    for part in small_disk.iterdir():
        (roomy / part.name).write_bytes(part.read_bytes())
    rerun = load_into(roomy / "warehouse.duckdb")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    clean = load_into(tmp_path / "clean.duckdb")
    assert clean.returncode == 0, clean.stderr[-2000:]
    count = "select source_table, sum(rows_loaded), count(*) from raw._elt_manifest group by 1 order by 1"
    with (
        duckdb.connect(str(roomy / "warehouse.duckdb"), read_only=True) as a,
        duckdb.connect(str(tmp_path / "clean.duckdb"), read_only=True) as b,
    ):
        assert a.execute(count).fetchall() == b.execute(count).fetchall()
        assert (
            a.execute("select count(*) from raw.shop__order_items").fetchall()
            == b.execute("select count(*) from raw.shop__order_items").fetchall()
        )
