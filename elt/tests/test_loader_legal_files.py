"""Legal but unusual files: the loader neither loses, doubles nor crashes on any of them.

Each test here failed on the loader before issue 13 (glob characters in names, Unicode JSON
keys, case twins, metadata-named and very long columns, NUL characters, lost connections,
symlinks, corrupt Parquet, compressed files, patterns matching nothing, rehashing).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from elt.errors import TransientError
from elt.loader import files as files_module
from elt.loader import run as run_module
from elt.loader.names import renamed
from elt.loader.run import LoadReport
from elt.loader.warehouse import FileResult
from elt.tests.conftest import REPO, pg_settings, run_elt
from elt.tests.loader_helpers import Wh
from elt.tests.test_loader_edges import _cli, project, quarantine, write

SOURCES = """
version: 2
sources:
  - name: corpus
    schema: raw
    tables:
      - name: things
        identifier: corpus__things
        config: {meta: {elt: {path: "things/*.csv", format: csv}}}
      - name: events
        identifier: corpus__events
        config: {meta: {elt: {path: "events/*.jsonl", format: jsonl}}}
      - name: rates
        identifier: corpus__rates
        config: {meta: {elt: {path: "rates/*.parquet", format: parquet}}}
      - name: nested
        identifier: corpus__nested
        config: {meta: {elt: {path: "nested/*/*.csv", format: csv}}}
"""


def _project(tmp: Path) -> Path:
    return project(tmp, SOURCES)


def _by_file(report: LoadReport) -> dict[str, FileResult]:
    return {r.file.rel: r for r in report.results}


def _parquet(data: Path, rel: str, table: dict[str, list[object]]) -> None:
    path = data / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path)


def test_file_names_with_glob_characters_load_their_own_rows(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["a.csv", "b.csv", "[ab].csv", "st*r.csv", "q?.csv", "[!a].csv", "x]y{1,2}.csv"]
    for i, name in enumerate(names):
        write(data, f"things/{name}", f'id,name\n{i},"{name}"\n'.encode())
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok
    assert {r.file.rel: r.rows_loaded for r in report.results} == {f"things/{n}": 1 for n in names}
    rows = wh.sql(f"select _source_file, id, name from {wh.raw('corpus__things')} order by id")
    assert rows == [(f"things/{n}", str(i), n) for i, n in enumerate(names)]


def test_json_keys_in_any_unicode_load_their_values(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    lines = [
        {"id": 1, "währung": "EUR", "a/b": "slash", 'q"x': "quote", "t~0": "tilde", "日付": "d"},
        {"id": 2, "währung": "CHF", "$.x": "dollar", " sp ": "space"},
    ]
    write(
        data,
        "events/a.jsonl",
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode(),
    )
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok
    cols = ['"währung"', '"a/b"', '"q""x"', '"t~0"', '"日付"', '"$.x"', '" sp "']
    assert wh.sql(f"select id, {', '.join(cols)} from raw.corpus__events order by id") == [
        ("1", "EUR", "slash", "quote", "tilde", "d", None, None),
        ("2", "CHF", None, None, None, None, "dollar", "space"),
    ]


def test_case_twins_and_metadata_names_are_renamed_and_recorded(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(
        data, "things/1.csv", b"order_id,currency,Currency,_row_number,_LOADED_AT\n7,eur,EUR,r,l\n"
    )
    write(data, "things/2.csv", b"Order_ID,currency\n8,usd\n")  # a header whose case changed
    _parquet(data, "rates/1.parquet", {"currency": ["a"], "Currency": ["b"], "_batch_id": ["c"]})
    write(data, "events/1.jsonl", b'{"id": 1, "Id": 2, "_source_file": "x"}\n')
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok, [r.message for r in report.results]
    twin, rn, la, oid = (
        renamed("Currency"),
        renamed("_row_number"),
        renamed("_LOADED_AT"),
        renamed("Order_ID"),
    )
    assert wh.sql(
        f'select order_id, "{oid}", currency, "{twin}", "{rn}", "{la}", _row_number '
        f"from {wh.raw('corpus__things')} order by _source_file"
    ) == [("7", None, "eur", "EUR", "r", "l", 2), (None, "8", "usd", None, None, None, 2)]
    renames = dict(wh.sql("select file_path, column_renames from raw._elt_manifest"))
    assert json.loads(renames["things/1.csv"]) == {
        "Currency": twin,
        "_row_number": rn,
        "_LOADED_AT": la,
    }
    assert json.loads(renames["things/2.csv"]) == {"Order_ID": oid}
    assert json.loads(renames["rates/1.parquet"]) == {
        "Currency": twin,
        "_batch_id": renamed("_batch_id"),
    }
    assert json.loads(renames["events/1.jsonl"]) == {
        "Id": renamed("Id"),
        "_source_file": renamed("_source_file"),
    }
    message = _by_file(report)["things/2.csv"].message
    assert (
        f"column 'Order_ID' loaded as {oid} (differs from column order_id only in letter case)"
        in message
    )
    assert wh.sql(
        f"select currency, \"{twin}\", _batch_id <> 'c' from {wh.raw('corpus__rates')}"
    ) == [("a", "b", True)]
    assert wh.sql(
        'select id, "' + renamed("Id") + '", _source_file from ' + wh.raw("corpus__events")
    ) == [("1", "2", "events/1.jsonl")]


def test_names_over_63_bytes_are_cut_the_same_way_every_time(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    stem = "a_very_long_column_name_from_a_vendor_export_that_never_ends_"  # 61 bytes
    one, two = stem + "alpha", stem + "beta"  # share the first 63 bytes
    umlaut = "ä" * 40  # 80 bytes
    write(data, "things/1.csv", f"id,{one},{two},{umlaut}\n1,x,y,z\n".encode())
    write(data, "things/2.csv", f"id,{one}\n2,x2\n".encode())  # the same long name again
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok, [r.message for r in report.results]
    r1, r2, r3 = renamed(one), renamed(two), renamed(umlaut)
    assert len({r1, r2, r3}) == 3
    assert all(len(r.encode()) <= 63 for r in (r1, r2, r3))
    assert r3 == "ä" * 26 + "__" + r3[-8:]  # cut on a character boundary
    assert wh.sql(f'select id, "{r1}", "{r2}", "{r3}" from raw.corpus__things order by id') == [
        ("1", "x", "y", "z"),
        ("2", "x2", None, None),
    ]


def test_nul_characters_quarantine_their_row_only(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "things/a.csv", b"id,name\n1,ok\n2,bad\x00value\n3,fine\n")
    write(data, "events/a.jsonl", b'{"id": 1, "kind": "a\\u0000b"}\n{"id": 2, "kind": "ok"}\n')
    _parquet(data, "rates/a.parquet", {"id": ["1", "2"], "code": ["x\x00", "y"]})
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok, [r.message for r in report.results]
    assert wh.sql("select id from raw.corpus__things order by id") == [("1",), ("3",)]
    assert wh.sql("select id from raw.corpus__events") == [("2",)]
    assert wh.sql("select id from raw.corpus__rates") == [("2",)]
    [(line, reason, raw)] = wh.sql(
        "select line_number, reason, raw_line from raw._elt_quarantine where file_path = 'things/a.csv'"
    )
    assert (line, raw) == (3, "2,bad\\x00value")
    assert "NUL CHARACTER: column name" in reason
    assert list(quarantine(wh, "events/a.jsonl")) == [1]
    assert "column kind" in quarantine(wh, "events/a.jsonl")[1]
    assert "column code" in quarantine(wh, "rates/a.parquet")[1]
    manifest = wh.sql(
        "select file_path, rows_in_file, rows_loaded, rows_quarantined from raw._elt_manifest order by 1"
    )
    assert manifest == [
        ("events/a.jsonl", 2, 1, 1),
        ("rates/a.parquet", 2, 1, 1),
        ("things/a.csv", 3, 2, 1),
    ]


@pytest.mark.postgres
def test_a_refused_group_falls_back_file_by_file(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from elt.loader import postgres_target
    from elt.tests.loader_helpers import make_wh

    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    for i in range(3):  # quoted values: DuckDB parses them (the path that streams its rows)
        lines = b"".join(b'%d,"n%d"\n' % (j, i) for j in range(5000))
        write(data, f"things/{i}.csv", b"id,name\n" + lines)
    real_copy = postgres_target.copy_rows
    seen = {"n": 0}

    def refuse_second_file(cur, target, columns, reader):
        rows = reader.read_all()
        names = rows.column(columns.index("name")).to_pylist()[:1]
        if "corpus__things" in target and names == ["n1"]:
            seen["n"] += 1
            raise psycopg2.errors.CharacterNotInRepertoire("invalid byte sequence (simulated)")
        return real_copy(
            cur, target, columns, pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches())
        )

    monkeypatch.setattr(postgres_target, "copy_rows", refuse_second_file)
    report = wh.load(data, project=_project(tmp_path))
    status = {r.file.rel: r.status for r in report.results}
    assert status == {"things/0.csv": "loaded", "things/1.csv": "failed", "things/2.csv": "loaded"}
    assert seen["n"] == 2  # once in the group, once alone
    failed = _by_file(report)["things/1.csv"].message
    assert (
        "PostgreSQL refused the rows of things/1.csv: invalid byte sequence (simulated)" in failed
    )
    assert wh.sql("select count(*) from raw.corpus__things") == [(10_000,)]


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["write_csv_bulk", "write_group"])
def test_a_lost_connection_ends_with_one_line_and_the_next_run_resumes(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Both ways a CSV file reaches PostgreSQL: sent as it is (a plain file) or parsed by
    DuckDB first (a quoted value)."""
    from elt.loader import postgres_target
    from elt.tests.loader_helpers import make_wh

    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    value = b"n" if path == "write_csv_bulk" else b'"n"'
    for i in range(4):
        write(data, f"things/{i}.csv", b"id,name\n" + b"%d,%b\n" % (i, value))
    monkeypatch.setattr(run_module, "GROUP_FILES", 1)
    real_write = getattr(postgres_target.PostgresSession, path)
    calls = {"n": 0}

    def kill_on_third(self, loads, *rest):
        calls["n"] += 1
        if calls["n"] == 3:
            s = pg_settings()
            admin = psycopg2.connect(
                dbname=pg_database, **{k: s[k] for k in ("host", "port", "user", "password")}
            )
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("select pg_terminate_backend(%s)", [self.pg.get_backend_pid()])
            admin.close()
        return real_write(self, loads, *rest)

    monkeypatch.setattr(postgres_target.PostgresSession, path, kill_on_third)
    with pytest.raises(TransientError) as caught:
        wh.load(data, project=_project(tmp_path), workers=1)
    assert "lost the connection to PostgreSQL while loading things/" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert wh.sql("select count(*) from raw._elt_manifest") == [(2,)]
    monkeypatch.setattr(postgres_target.PostgresSession, path, real_write)
    again = wh.load(data, project=_project(tmp_path))
    assert again.ok
    assert sorted(r.status for r in again.results) == ["loaded", "loaded", "skipped", "skipped"]
    assert wh.sql("select count(*), count(distinct id) from raw.corpus__things") == [(4, 4)]


@pytest.mark.postgres
def test_a_port_that_is_not_a_number_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    result = run_elt(
        "load",
        "--target",
        "postgres",
        "--data-dir",
        str(tmp_path / "data"),
        env={"ELT_PG_PORT": "abc"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: target 'postgres': port must be a whole number, got 'abc' (set in profiles.yml, e.g. by ELT_PG_PORT)"
    ]


def test_symlinks_load_inside_the_data_directory_only_and_once(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_bytes(b"id,name\n99,outside\n")
    write(data, "nested/2025-01-01/a.csv", b"id,name\n1,a\n")
    (data / "things").mkdir(parents=True)
    (data / "things" / "secret.csv").symlink_to(outside / "secret.csv")
    (data / "things" / "passwd.csv").symlink_to("/etc/passwd")
    (data / "nested" / "alias").symlink_to(data / "nested" / "2025-01-01")  # the same folder twice
    report = wh.load(data, project=_project(tmp_path))
    by_file = _by_file(report)
    assert not report.ok
    assert by_file["things/secret.csv"].status == "refused"
    assert "outside the data directory" in by_file["things/secret.csv"].message
    assert by_file["things/passwd.csv"].status == "refused"
    assert "root:" not in by_file["things/passwd.csv"].message
    assert by_file["nested/2025-01-01/a.csv"].status == "loaded"
    assert by_file["nested/alias/a.csv"].status == "skipped"
    assert "the same file as nested/2025-01-01/a.csv" in by_file["nested/alias/a.csv"].message
    assert wh.sql("select count(*) from raw.corpus__nested") == [(1,)]
    assert wh.sql("select file_path from raw._elt_manifest") == [("nested/2025-01-01/a.csv",)]


def test_a_corrupt_parquet_file_fails_alone_with_no_negative_rows(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _parquet(data, "rates/good.parquet", {"id": ["1"]})
    write(data, "rates/bad.parquet", b"PAR1 this is not a parquet file PAR1")
    report = wh.load(data, project=_project(tmp_path))
    by_file = _by_file(report)
    assert by_file["rates/good.parquet"].status == "loaded"
    assert by_file["rates/bad.parquet"].status == "failed"
    assert "cannot read it as Parquet" in by_file["rates/bad.parquet"].message
    assert wh.sql("select file_path, rows_in_file, status from raw._elt_manifest order by 1") == [
        ("rates/bad.parquet", 0, "failed"),
        ("rates/good.parquet", 1, "loaded"),
    ]


def test_gzip_and_zstd_files_load_and_a_zip_fails_clearly(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "things/a.csv.gz", gzip.compress(b"id,name\n1,a\n2,b\n"))
    write(data, "things/b.csv.zst", pa.Codec("zstd").compress(b"id,name\n3,c\n", asbytes=True))
    write(data, "things/c.csv", gzip.compress(b"id,name\n4,d\n"))  # gzip without the suffix
    write(data, "things/d.csv", b"PK\x03\x04 a zip archive")
    write(data, "events/a.jsonl.gz", gzip.compress(b'{"id": 1}\n{"id": 2\n'))
    report = wh.load(data, project=_project(tmp_path))
    by_file = _by_file(report)
    assert {rel: r.status for rel, r in by_file.items()} == {
        "things/a.csv.gz": "loaded",
        "things/b.csv.zst": "loaded",
        "things/c.csv": "loaded",
        "things/d.csv": "failed",
        "events/a.jsonl.gz": "loaded",
    }
    assert "things/d.csv: it is a ZIP archive" in by_file["things/d.csv"].message
    assert wh.sql("select id from raw.corpus__things order by id") == [
        ("1",),
        ("2",),
        ("3",),
        ("4",),
    ]
    assert list(quarantine(wh, "events/a.jsonl.gz")) == [2]
    size, digest = wh.sql(
        "select size_bytes, content_hash from raw._elt_manifest where file_path = 'things/a.csv.gz'"
    )[0]
    stored = (data / "things/a.csv.gz").read_bytes()
    import hashlib

    assert (size, digest) == (len(stored), hashlib.sha256(stored).hexdigest())


def test_hive_style_folders_add_no_columns(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data, "nested/day=2025-01-01/a.csv", b"id,name\n1,a\n")
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok
    columns = [
        c
        for (c,) in wh.sql(
            "select column_name from information_schema.columns where table_name = 'corpus__nested'"
        )
    ]
    assert "day" not in columns


def test_patterns_that_match_nothing_are_reported(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    args = [
        "--data-dir",
        str(data),
        "--project-dir",
        str(_project(tmp_path)),
        "--profiles-dir",
        str(REPO),
    ]
    nothing = _cli(wh, *args)
    assert nothing.returncode == 2
    assert "no file in" in nothing.stderr
    assert "things/*.csv (corpus.things)" in nothing.stderr
    write(data, "things/a.csv", b"id\n1\n")
    named = _cli(wh, *args, "--table", "corpus.events")
    assert named.returncode == 2
    assert "events/*.jsonl (corpus.events)" in named.stderr
    some = _cli(wh, *args)
    assert some.returncode == 0, some.stderr
    assert (
        "warning: no file in the data directory matches events/*.jsonl (corpus.events"
        in some.stderr
    )


def test_unchanged_files_are_not_rehashed_unless_verified(
    wh: Wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write(data, "things/a.csv", b"id,name\n1,a\n")
    write(data, "things/b.csv", b"id,name\n2,b\n")
    assert wh.load(data, project=_project(tmp_path)).ok
    hashed: list[str] = []
    real = files_module.fingerprint

    def counting(table, data_dir, path):
        hashed.append(str(path.relative_to(data_dir)))
        return real(table, data_dir, path)

    monkeypatch.setattr(run_module, "fingerprint", counting)
    again = wh.load(data, project=_project(tmp_path))
    assert [r.status for r in again.results] == ["skipped", "skipped"]
    assert hashed == []
    # same bytes, new time: hashed once, then skipped by size and time again
    os.utime(data / "things/a.csv", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    wh.load(data, project=_project(tmp_path))
    assert hashed == ["things/a.csv"]
    wh.load(data, project=_project(tmp_path))
    assert hashed == ["things/a.csv"]
    # an edit that keeps size and time is only seen by --verify
    st = (data / "things/b.csv").stat()
    (data / "things/b.csv").write_bytes(b"id,name\n3,c\n")
    os.utime(data / "things/b.csv", ns=(st.st_atime_ns, st.st_mtime_ns))
    quiet = wh.load(data, project=_project(tmp_path))
    assert {r.file.rel: r.status for r in quiet.results}["things/b.csv"] == "skipped"
    verified = wh.load(data, project=_project(tmp_path), verify=True)
    assert {r.file.rel: r.status for r in verified.results} == {
        "things/a.csv": "skipped",
        "things/b.csv": "refused",
    }
    assert sorted(hashed) == ["things/a.csv", "things/a.csv", "things/b.csv"]


def _fuzz_names(seed: int) -> tuple[list[str], list[str]]:
    """File and column names mixing glob characters, quotes, Unicode, spaces, case twins
    and lengths over the identifier limit (deterministic for a seed)."""
    import random

    rng = random.Random(seed)
    pieces = [
        "a",
        "Z",
        "[",
        "]",
        "*",
        "?",
        "{",
        "}",
        ",",
        "'",
        '"',
        " ",
        "ä",
        "日",
        "é",
        "-",
        "_",
        "~",
        "$",
        "%",
        "#",
    ]
    files = sorted(
        {
            "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))).replace("/", "") + ".csv"
            for _ in range(12)
        }
    )
    base = [
        "id",
        "value",
        "Value",
        "VALUE",
        "_row_number",
        "_Loaded_At",
        "x" * 70,
        "x" * 70 + "y",
        "ß" * 40,
    ]
    extra = [
        "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20))).strip() or "blank"
        for _ in range(8)
    ]
    columns = list(dict.fromkeys(base + [c for c in extra if c.lower() not in {"id"}]))
    return files, columns


def test_a_fuzzed_corpus_of_names_loads_every_value_once(wh: Wh, tmp_path: Path) -> None:
    import csv
    import io

    data = tmp_path / "data"
    files, columns = _fuzz_names(13)
    for n, name in enumerate(files):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerow([str(n)] + [f"{n}:{i}" for i in range(1, len(columns))])
        write(data, f"things/{name}", out.getvalue().encode())
    report = wh.load(data, project=_project(tmp_path))
    assert report.ok, [r.message for r in report.results if r.status != "loaded"]
    assert {r.file.rel for r in report.results} == {f"things/{name}" for name in files}
    renames = {
        rel: json.loads(mapping) if mapping else {}
        for rel, mapping in wh.sql("select file_path, column_renames from raw._elt_manifest")
    }
    for n, name in enumerate(files):
        rel = f"things/{name}"
        raw = [renames[rel].get(c, c) for c in columns]
        quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in raw)
        literal = rel.replace("'", "''")
        rows = wh.sql(
            f"select {quoted} from {wh.raw('corpus__things')} where _source_file = '{literal}'"
        )
        assert rows == [tuple([str(n)] + [f"{n}:{i}" for i in range(1, len(columns))])], rel
