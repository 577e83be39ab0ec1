"""The loader's second round of unusual-but-legal inputs: nothing lost, doubled, corrupted or
crashed on re-deliveries, renames, half-written files, JSON numbers and odd line endings.

Each test here failed on the loader before issue 26, on the databases it runs on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elt.errors import LoaderError
from elt.loader.archive import run_archive
from elt.loader.bookkeeping import NoteKind, Outcome
from elt.loader.run import LoadReport
from elt.loader.warehouse import FileResult
from elt.tests.conftest import REPO
from elt.tests.loader_helpers import Wh
from elt.tests.test_loader_edges import _cli, project, quarantine, write
from elt.warehouse.profile import load_target


def _sources(*tables: str) -> str:
    body = "".join(f"      - {t}\n" for t in tables)
    return f"version: 2\nsources:\n  - name: fz\n    schema: raw\n    tables:\n{body}"


T_CSV = "{name: t, identifier: fz__t, config: {meta: {elt: {path: 't/*.csv', format: csv}}}}"
T_JSON = "{name: j, identifier: fz__j, config: {meta: {elt: {path: 'j/*.jsonl', format: jsonl}}}}"
T_PARQUET = (
    "{name: p, identifier: fz__p, config: {meta: {elt: {path: 'p/*.parquet', format: parquet}}}}"
)


def _by_file(report: LoadReport) -> dict[str, FileResult]:
    return {r.file.rel: r for r in report.results}


# --- the manifest is keyed by raw table and path -------------------------------------------


def test_a_file_loaded_into_one_table_loads_into_a_table_added_later(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write(data, "t/x1.csv", b"id,amount\n1,100\n2,250\n")
    assert wh.load(data, project=project(tmp_path, _sources(T_CSV))).ok
    b = "{name: b, identifier: fz__b, config: {meta: {elt: {path: 't/x*.csv', format: csv}}}}"
    proj = project(tmp_path, _sources(T_CSV, b))
    report = wh.load(data, project=proj, tables=("fz.b",))
    assert report.ok
    assert [(r.file.rel, r.status) for r in report.results] == [("t/x1.csv", Outcome.LOADED)]
    assert wh.sql("select id, amount from raw.fz__b order by id") == [("1", "100"), ("2", "250")]
    assert wh.sql("select raw_table, status from raw._elt_manifest order by 1") == [
        ("raw.fz__b", "loaded"),
        ("raw.fz__t", "loaded"),
    ]
    # both tables in one run, a new file: each gets the rows and a manifest row
    write(data, "t/x2.csv", b"id,amount\n3,5\n")
    assert wh.load(data, project=proj).ok
    assert wh.sql("select count(*) from raw.fz__t") == [(3,)]
    assert wh.sql("select count(*) from raw.fz__b") == [(3,)]
    assert wh.sql(
        "select raw_table, rows_loaded from raw._elt_manifest where file_path = 't/x2.csv' order by 1"
    ) == [("raw.fz__b", 1), ("raw.fz__t", 1)]


def test_a_changed_identifier_loads_every_file_into_the_new_table_and_says_so(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write(data, "t/a.csv", b"id\n1\n")
    assert wh.load(data, project=project(tmp_path, _sources(T_CSV))).ok
    renamed = T_CSV.replace("identifier: fz__t", "identifier: fz__t2")
    report = wh.load(data, project=project(tmp_path, _sources(renamed)))
    assert report.ok
    assert wh.sql("select id from raw.fz__t2") == [("1",)]
    assert any("raw.fz__t before and into raw.fz__t2 now" in w for w in report.warnings)


def test_an_older_manifest_keyed_by_path_alone_is_rekeyed(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/a.csv", b"id\n1\n")
    proj = project(tmp_path, _sources(T_CSV))
    assert wh.load(data, project=proj).ok
    rows = wh.sql("select * from raw._elt_manifest")
    wh.execute(
        [
            "alter table raw._elt_manifest rename to old_manifest",
            "create table raw._elt_manifest as select * from raw.old_manifest where false",
            "drop table raw.old_manifest",
            "alter table raw._elt_manifest add primary key (file_path)",
        ]
        if wh.kind == "postgres"
        else [
            "create table raw.m as select * from raw._elt_manifest",
            "drop table raw._elt_manifest",
            # the DDL of the loader before issue 26: file_path alone is the key
            "create table raw._elt_manifest (file_path text primary key, source_table text, "
            "raw_table text, size_bytes bigint, content_hash text, rows_in_file bigint, "
            "rows_loaded bigint, rows_quarantined bigint, status text, message text, "
            "started_at timestamptz, finished_at timestamptz, batch_id text, "
            "file_modified_at timestamptz, column_renames text)",
            "insert into raw._elt_manifest select * exclude (file_id, first_loaded_at) from raw.m",
            "drop table raw.m",
        ]
    )
    if wh.kind == "postgres":
        wh.execute([f"insert into raw._elt_manifest values {_values(rows[0])}"])
    b = "{name: b, identifier: fz__b, config: {meta: {elt: {path: 't/*.csv', format: csv}}}}"
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV, b)))
    assert report.ok, [r.message for r in report.results]
    assert _by_file(report)["t/a.csv"].status in (Outcome.LOADED, Outcome.SKIPPED)
    assert wh.sql("select raw_table from raw._elt_manifest order by 1") == [
        ("raw.fz__b",),
        ("raw.fz__t",),
    ]
    assert wh.sql("select count(*) from raw.fz__t") == [(1,)]


def _values(row: tuple[object, ...]) -> str:
    def lit(v: object) -> str:
        if v is None:
            return "null"
        if isinstance(v, int):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    return "(" + ", ".join(lit(v) for v in row) + ")"


# --- readiness: half-written files ----------------------------------------------------------


def test_a_file_still_being_written_waits_then_loads_whole(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proj = project(tmp_path, _sources(T_CSV))
    write(data, "t/f.csv", b"id,amount\n1,100\n2,250\n3,12", complete=False)
    first = wh.load(data, project=proj)
    assert first.ok
    assert _by_file(first)["t/f.csv"].status is Outcome.WAITING
    assert "still being written" in _by_file(first)["t/f.csv"].message
    assert wh.sql("select count(*) from raw._elt_manifest") == [(0,)]
    write(data, "t/f.csv", b"id,amount\n1,100\n2,250\n3,125\n")  # the writer finished
    second = wh.load(data, project=proj)
    assert second.ok
    assert _by_file(second)["t/f.csv"].status is Outcome.LOADED
    assert wh.sql("select id, amount from raw.fz__t order by id") == [
        ("1", "100"),
        ("2", "250"),
        ("3", "125"),
    ]


def test_a_marker_declares_a_folder_complete(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ready = T_CSV.replace("format: csv", "format: csv, ready: {marker: _SUCCESS}").replace(
        "t/*.csv", "t/*/*"
    )
    proj = project(tmp_path, _sources(ready))
    write(data, "t/d1/part-0.csv", b"id\n1\n")
    write(data, "t/d1/_SUCCESS", b"")
    write(data, "t/d2/part-0.csv", b"id\n2\n")
    report = wh.load(data, project=proj)
    assert report.ok
    assert {r.file.rel: r.status for r in report.results} == {
        "t/d1/part-0.csv": Outcome.LOADED,
        "t/d2/part-0.csv": Outcome.WAITING,
    }
    assert "no _SUCCESS in its folder yet" in _by_file(report)["t/d2/part-0.csv"].message
    write(data, "t/d2/_SUCCESS", b"")
    assert wh.load(data, project=proj).ok
    assert wh.sql("select id from raw.fz__t order by id") == [("1",), ("2",)]


def test_a_file_that_grows_while_loading_is_left_for_the_next_run(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proj = project(tmp_path, _sources(T_CSV, T_JSON))
    write(data, "t/f.csv", b"id,amount\n1,100\n")
    write(data, "j/f.jsonl", b'{"id": 1}\n')

    def grow(todo: int, skipped: int) -> None:  # after planning, before any row moves
        with (data / "t/f.csv").open("ab") as out:
            out.write(b"2,250\n")
        with (data / "j/f.jsonl").open("ab") as out:
            out.write(b'{"id": 2}\n')

    from elt.loader.run import LoadOptions, load

    old = {k: os.environ.get(k) for k in wh.env}
    os.environ.update(wh.env)
    try:
        report = load(
            LoadOptions(project_dir=proj, data_dir=data, target=load_target(REPO, REPO, wh.kind)),
            on_plan=grow,
        )
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert report.ok
    assert {r.file.rel: r.status for r in report.results} == {
        "t/f.csv": Outcome.WAITING,
        "j/f.jsonl": Outcome.WAITING,
    }
    assert "changed while loading" in _by_file(report)["t/f.csv"].message
    assert wh.sql("select count(*) from raw._elt_manifest") == [(0,)]
    again = wh.load(data, project=proj)
    assert again.ok
    assert {r.status for r in again.results} == {Outcome.LOADED}
    assert wh.sql("select count(*) from raw.fz__t") == [(2,)]
    assert wh.sql("select count(*) from raw.fz__j") == [(2,)]


# --- JSON lines: every scalar as written ----------------------------------------------------


def test_json_numbers_are_kept_as_written(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    numbers = [
        "99999999999999999.99",
        "0.123456789012345678901",
        "1e-400",
        "12.50",
        "-0",
        "123456789012345678901234567890",
        "1E+3",
    ]
    lines = "".join(
        f'{{"id": {i}, "amount": {n}, "nested": {{"a": [{n}, true, null]}}, "flag": false}}\n'
        for i, n in enumerate(numbers)
    )
    write(data, "j/n.jsonl", lines.encode())
    assert wh.load(data, project=project(tmp_path, _sources(T_JSON))).ok
    rows = wh.sql("select id, amount, nested, flag from raw.fz__j order by _row_number")
    assert rows == [(str(i), n, f'{{"a":[{n},true,null]}}', "false") for i, n in enumerate(numbers)]


def test_a_byte_order_mark_does_not_cost_the_first_json_record(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "j/bom.jsonl", b'\xef\xbb\xbf{"id": 1}\n{"id": 2}\n')
    report = wh.load(data, project=project(tmp_path, _sources(T_JSON)))
    assert report.ok
    assert wh.sql("select id, _row_number from raw.fz__j order by 2") == [("1", 1), ("2", 2)]
    assert quarantine(wh, "j/bom.jsonl") == {}


def test_a_json_object_repeating_a_key_is_quarantined_with_its_reason(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write(data, "j/d.jsonl", b'{"id": 1, "v": "a"}\n{"id": 2, "v": "b", "v": "c"}\n')
    report = wh.load(data, project=project(tmp_path, _sources(T_JSON)))
    assert report.ok
    assert wh.sql("select id, v from raw.fz__j") == [("1", "a")]
    reasons = quarantine(wh, "j/d.jsonl")
    assert list(reasons) == [2]
    assert reasons[2].startswith('DUPLICATE KEY: key "v"')


def test_an_empty_json_key_is_renamed_not_the_file_refused(wh: Wh, tmp_path: Path) -> None:
    from elt.loader.names import renamed

    data = tmp_path / "data"
    write(data, "j/e.jsonl", b'{"id": 1}\n{"id": 2, "": "blank"}\n')
    report = wh.load(data, project=project(tmp_path, _sources(T_JSON)))
    assert report.ok, [r.message for r in report.results]
    assert wh.sql(f'select id, "{renamed("")}" from raw.fz__j order by id') == [
        ("1", None),
        ("2", "blank"),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        "{}\n".encode("utf-16"),
        b'{"id": 1}\r{"id": 2}\r',  # CR-only line endings: two records
        b'[{"id": 1}]\n',
        b'{\n  "id": 1\n}\n',
    ],
    ids=["empty", "utf16", "cr-only", "array", "pretty"],
)
def test_a_first_json_file_without_a_valid_object_creates_its_table_and_keeps_its_lines(
    wh: Wh, tmp_path: Path, content: bytes
) -> None:
    data = tmp_path / "data"
    write(data, "j/first.jsonl", content)
    report = wh.load(data, project=project(tmp_path, _sources(T_JSON)))
    assert report.ok, [r.message for r in report.results]
    f = _by_file(report)["j/first.jsonl"]
    assert f.status is Outcome.LOADED
    loaded = wh.sql("select count(*) from raw.fz__j")[0][0]
    manifest = wh.sql("select rows_in_file, rows_loaded, rows_quarantined from raw._elt_manifest")
    assert manifest == [(f.rows_loaded + f.rows_quarantined, loaded, f.rows_quarantined)]
    assert len(quarantine(wh, "j/first.jsonl")) == f.rows_quarantined
    if content.startswith(b'{"id": 1}\r'):
        assert wh.sql("select id, _row_number from raw.fz__j order by 2") == [("1", 1), ("2", 2)]
    # a later file with objects adds its columns to the table
    write(data, "j/second.jsonl", b'{"id": 3}\n')
    assert wh.load(data, project=project(tmp_path, _sources(T_JSON))).ok
    assert ("3",) in wh.sql("select id from raw.fz__j")


# --- the same content under a new path ------------------------------------------------------


def test_a_renamed_file_is_recorded_not_loaded_again(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proj = project(tmp_path, _sources(T_CSV))
    write(data, "t/f.csv", b"id\n1\n2\n")
    assert wh.load(data, project=proj).ok
    (data / "t/f.csv").rename(data / "t/g.csv")
    report = wh.load(data, project=proj)
    assert report.ok
    g = _by_file(report)["t/g.csv"]
    assert g.status is Outcome.SKIPPED
    assert g.notes[0].kind is NoteKind.RENAMED_FILE
    assert "renamed from t/f.csv" in g.message
    assert wh.sql(f"select count(*), min(_source_file) from {wh.raw('fz__t')}") == [(2, "t/f.csv")]
    assert wh.sql("select file_path, status from raw._elt_manifest order by 1") == [
        ("t/f.csv", "loaded"),
        ("t/g.csv", "renamed"),
    ]
    again = wh.load(data, project=proj)  # recorded: skipped without a second notice
    assert [r.status for r in again.results] == [Outcome.SKIPPED]
    assert wh.sql("select count(*) from raw.fz__t") == [(2,)]


def test_a_copy_under_a_new_name_loads_with_a_notice(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proj = project(tmp_path, _sources(T_CSV))
    write(data, "t/f.csv", b"id\n1\n")
    assert wh.load(data, project=proj).ok
    shutil.copy(data / "t/f.csv", data / "t/g.csv")
    report = wh.load(data, project=proj)
    g = _by_file(report)["t/g.csv"]
    assert g.status is Outcome.LOADED
    assert [n.kind for n in g.notes] == [NoteKind.REDELIVERED]
    assert "the same content as t/f.csv" in g.message


def test_two_new_files_with_one_content_in_one_load_get_a_notice(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/a.csv", b"id\n1\n")
    write(data, "t/b.csv", b"id\n1\n")
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV)))
    b = _by_file(report)["t/b.csv"]
    assert b.status is Outcome.LOADED
    assert [n.kind for n in b.notes] == [NoteKind.REDELIVERED]
    assert "the same content as t/a.csv (in this load)" in b.message
    assert _by_file(report)["t/a.csv"].notes == ()


def test_a_full_extract_loads_identical_content_as_a_new_observation(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    full = T_CSV.replace("meta: {elt:", "meta: {audit: {full_extract: true}, elt:")
    proj = project(tmp_path, _sources(full))
    write(data, "t/2025-01-01.csv", b"id\n1\n")
    assert wh.load(data, project=proj).ok
    (data / "t/2025-01-01.csv").rename(data / "t/2025-01-02.csv")
    report = wh.load(data, project=proj)
    assert [(r.file.rel, r.status, r.notes) for r in report.results] == [
        ("t/2025-01-02.csv", Outcome.LOADED, ())
    ]


def test_a_pattern_with_dot_dot_steps_keys_the_same_paths(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/f.csv", b"id\n1\n")
    assert wh.load(data, project=project(tmp_path, _sources(T_CSV))).ok
    odd = T_CSV.replace("t/*.csv", "t/../t/./*.csv")
    report = wh.load(data, project=project(tmp_path, _sources(odd)))
    assert [(r.file.rel, r.status) for r in report.results] == [("t/f.csv", Outcome.SKIPPED)]
    assert wh.sql("select count(*) from raw.fz__t") == [(1,)]


def test_the_archive_and_the_warehouse_file_are_never_loaded(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    anything = "{name: t, identifier: fz__t, config: {meta: {elt: {path: '**/*', format: parquet, retention: {days: 0, action: archive}}}}}"
    proj = project(tmp_path, _sources(anything))
    (data / "p").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["1"]}), data / "p" / "a.parquet")
    env = dict(wh.env)
    if wh.kind == "duckdb":  # the warehouse itself inside the data directory
        env["ELT_DUCKDB_PATH"] = str(data / "warehouse.duckdb")
    inside = Wh(wh.kind, env)
    assert inside.load(data, project=proj).ok
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        done = run_archive(
            proj, data, data / "archive", load_target(REPO, REPO, wh.kind), now=later
        )
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert [(a.rel, a.action) for a in done] == [("p/a.parquet", "archived")]
    assert (data / "archive" / "p" / "a.parquet").exists()
    pq.write_table(pa.table({"id": ["2"]}), data / "p" / "b.parquet")
    report = inside.load(data, project=proj)
    assert report.ok
    # the new file only: neither the archive nor the warehouse's files are read
    assert [(r.file.rel, r.status) for r in report.results] == [("p/b.parquet", Outcome.LOADED)]
    assert inside.sql("select id from raw.fz__t order by id") == [("1",), ("2",)]


# --- a crash becomes one file's (or the configuration's) error ------------------------------


def test_a_name_that_is_not_utf8_is_refused_alone(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/good.csv", b"id\n1\n")
    bad = os.fsencode(str(data / "t")) + b"/bad\xff.csv"
    with open(bad, "wb") as out:
        out.write(b"id\n2\n")
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV)))
    assert not report.ok
    results = {r.file.rel: r for r in report.results}
    assert results["t/good.csv"].status is Outcome.LOADED
    assert results["t/bad\\xff.csv"].status is Outcome.REFUSED
    assert "not valid UTF-8" in results["t/bad\\xff.csv"].message
    assert wh.sql("select id from raw.fz__t") == [("1",)]


@pytest.mark.parametrize("pattern", ["/etc/*.conf", "../elsewhere/*.csv"])
def test_a_pattern_outside_the_data_directory_is_a_configuration_error(
    wh: Wh, tmp_path: Path, pattern: str
) -> None:
    data = tmp_path / "data"
    write(data, "t/a.csv", b"id\n1\n")
    proj = project(tmp_path, _sources(T_CSV.replace("t/*.csv", pattern)))
    with pytest.raises(LoaderError, match=r"meta\.elt\.path"):
        wh.load(data, project=proj)
    result = _cli(
        wh, "--data-dir", str(data), "--project-dir", str(proj), "--profiles-dir", str(REPO)
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_postgres_too_many_columns_fails_the_file_and_names_the_cause(
    pg_database: str, tmp_path: Path
) -> None:
    """PostgreSQL's limit of 1,600 columns (DuckDB has none to hit)."""
    from elt.tests.loader_helpers import make_wh

    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    header = ",".join(f"c{i}" for i in range(1700))
    write(data, "t/wide.csv", (header + "\n" + ",".join("1" * 1700) + "\n").encode())
    write(data, "j/ok.jsonl", b'{"id": 1}\n')
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV, T_JSON)))
    results = _by_file(report)
    assert results["t/wide.csv"].status is Outcome.FAILED
    assert "at most 1600 columns" in results["t/wide.csv"].message
    assert results["j/ok.jsonl"].status is Outcome.LOADED
    # the lock was released: a second run starts at once
    assert wh.load(data, project=project(tmp_path, _sources(T_JSON)), lock_timeout=1).ok


# --- legal files that were refused ----------------------------------------------------------


def test_columns_named_like_the_readers_own_load(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/o.csv", b"id,_ordinal,filename\n1,a,b\n")
    write(data, "t/n.csv", b"id,_ordinal,filename\n2,c,d\n")
    (data / "p").mkdir(parents=True)
    pq.write_table(
        pa.table({"id": ["7", "8"], "file_row_number": ["x", "y"]}), data / "p" / "r.parquet"
    )
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV, T_PARQUET)))
    assert report.ok, [r.message for r in report.results]
    assert wh.sql('select id, "_ordinal", filename, _row_number from raw.fz__t order by id') == [
        ("1", "a", "b", 2),
        ("2", "c", "d", 2),
    ]
    assert wh.sql("select id, file_row_number, _row_number from raw.fz__p order by id") == [
        ("7", "x", 1),
        ("8", "y", 2),
    ]


def test_blank_lines_in_csv_are_not_records_and_rows_keep_their_lines(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    write(data, "t/b.csv", b"id,amount\n1,100\n\n2,250\nbad\n3,7\n\n")
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV)))
    assert report.ok, [r.message for r in report.results]
    assert wh.sql("select id, _row_number from raw.fz__t order by id") == [
        ("1", 2),
        ("2", 4),
        ("3", 6),
    ]
    assert list(quarantine(wh, "t/b.csv")) == [5]
    assert wh.sql("select rows_in_file, rows_loaded, rows_quarantined from raw._elt_manifest") == [
        (4, 3, 1)
    ]


def test_one_crlf_line_in_an_lf_file_and_a_cr_only_file_load(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "t/mixed.csv", b"id,name\n1,a\n2,b\r\n3,c\n")
    write(data, "t/cr.csv", b"id,name\r4,d\r5,e\r")
    report = wh.load(data, project=project(tmp_path, _sources(T_CSV)))
    assert report.ok, [r.message for r in report.results]
    assert wh.sql(
        f"select _source_file, id, name, _row_number from {wh.raw('fz__t')} order by id"
    ) == [
        ("t/mixed.csv", "1", "a", 2),
        ("t/mixed.csv", "2", "b", 3),
        ("t/mixed.csv", "3", "c", 4),
        ("t/cr.csv", "4", "d", 2),
        ("t/cr.csv", "5", "e", 3),
    ]


def test_the_report_of_a_waiting_file_is_printed(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proj = project(tmp_path, _sources(T_CSV))
    write(data, "t/f.csv", b"id\n1\n2", complete=False)
    result = _cli(
        wh, "--data-dir", str(data), "--project-dir", str(proj), "--profiles-dir", str(REPO)
    )
    assert result.returncode == 0, result.stderr
    assert "t/f.csv" in result.stdout + result.stderr
    assert "not ready" in result.stdout + result.stderr
    now = time.time() - 3600
    os.utime(data / "t/f.csv", (now, now))  # quiet for an hour: complete
    assert wh.load(data, project=proj).ok
    assert wh.sql("select id from raw.fz__t order by id") == [("1",), ("2",)]


def test_json_values_read_back_exactly_as_python_writes_them(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    obj = {"id": "1", "s": 'quote " and \\ and é', "u": "\u2028", "e": ""}
    write(data, "j/x.jsonl", (json.dumps(obj) + "\n").encode())
    assert wh.load(data, project=project(tmp_path, _sources(T_JSON))).ok
    assert wh.sql("select id, s, u, e from raw.fz__j") == [tuple(obj.values())]


def test_clean_files_read_in_one_scan_number_every_row_by_its_line(wh: Wh, tmp_path: Path) -> None:
    """DuckDB's clean scan numbers rows in scan order less the records of the files before:
    over several files of many row groups each (read in parallel), every row's number is
    its line, which each line here also holds."""
    data = tmp_path / "data"
    sizes = {"t/a.csv": 150_000, "t/b.csv": 3, "t/c.csv": 0, "t/d.csv": 130_000}
    for rel, n in sizes.items():
        write(data, rel, b"id,line\n" + b"".join(b"%d,%d\n" % (i, i + 2) for i in range(n)))
    assert wh.load(data, project=project(tmp_path, _sources(T_CSV))).ok
    wrong = wh.sql(
        f"select _source_file, count(*) from {wh.raw('fz__t')} "
        "where cast(line as bigint) <> _row_number group by 1"
    )
    assert wrong == []
    counts = dict(wh.sql(f"select _source_file, count(*) from {wh.raw('fz__t')} group by 1"))
    assert counts == {k: v for k, v in sizes.items() if v}
