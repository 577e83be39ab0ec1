"""PostgreSQL: plain CSV files go to ``COPY`` as they are; the rows must be exactly those
DuckDB's parser gives (the other path, and the DuckDB warehouse), and a file PostgreSQL
reads otherwise must fall back to DuckDB with nothing half-written. Raw rows name their
file by the manifest's ``_file_id``; an older loader's raw tables are moved to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from elt.loader import postgres_target
from elt.loader.bookkeeping import Outcome
from elt.tests.loader_helpers import Wh, make_wh
from elt.tests.test_loader_edges import project, write

pytestmark = pytest.mark.postgres

SOURCES = """version: 2
sources:
  - name: fz
    schema: raw
    tables:
      - {name: t, identifier: fz__t, config: {meta: {elt: {path: 't/*.csv', format: csv}}}}
      - {name: s, identifier: fz__s, config: {meta: {elt: {path: 's/*.csv', format: csv, delimiter: ';'}}}}
"""

# files that are plain (sent as they are) and files that are not, or that PostgreSQL's CSV
# parser refuses: every one must load exactly as DuckDB loads it
FILES = {
    "t/plain.csv": b"id,name,note\n1,ann,\n2,bob,  spaced  \n3,,x\n",
    "t/crlf.csv": b"id,name,note\r\n4,cy,a\r\n5,di,b\r\n",
    "t/open_end.csv": b"id,name,note\n6,ed,last line has no newline",
    "t/unicode.csv": "id,name,note\n7,Zoë,日本\n8,\u00e9,\\N\n".encode(),
    "t/backslash.csv": b"id,name,note\n9,a\\b,c\\\\d\n",
    "t/eof_marker.csv": b"id,name,note\n10,x,y\n\\.\n11,after,marker\n",
    "t/quoted.csv": b'id,name,note\n12,"a,b","say ""hi"""\n13,"",z\n',
    "t/malformed.csv": b"id,name,note\n14,ok,1\n15,too,many,fields\n16,ok,2\n",
    "t/blank.csv": b"id,name,note\n17,a,1\n\n18,b,2\n",
    "t/latin1.csv": b"id,name,note\n19,caf\xe9,1\n20,ok,2\n",
    "t/cr_inside.csv": b"id,name,note\n21,a\rb,1\n22,ok,2\n",
    "t/header_only.csv": b"id,name,note\n",
    "t/reordered.csv": b"note,id,name\nfirst,23,n\n",
    "s/semi.csv": b"id;name\n1;a,b\n2;c\n",
}


def _rows(wh: Wh, table: str) -> list[tuple[object, ...]]:
    cols = "id, name, note" if table == "fz__t" else "id, name"
    return wh.sql(f"select _source_file, _row_number, {cols} from {wh.raw(table)} order by 1, 2")


def _load_all(wh: Wh, tmp: Path) -> dict[str, str]:
    data = tmp / "data"
    for rel, content in FILES.items():
        write(data, rel, content)
    report = wh.load(data, project=project(tmp, SOURCES))
    return {r.file.rel: r.status for r in report.results}


def _two_files_loaded(pg_database: str, tmp: Path) -> tuple[Wh, Path, Path]:
    """A PostgreSQL warehouse with two files of fz.t loaded: t/a.csv (2 rows), t/b.csv (1)."""
    wh = make_wh("postgres", tmp, pg_database)
    data = tmp / "data"
    write(data, "t/a.csv", b"id,name,note\n1,a,x\n2,b,y\n")
    write(data, "t/b.csv", b'id,name,note\n3,"c",z\n')
    proj = project(tmp, SOURCES)
    assert wh.load(data, project=proj).ok
    return wh, data, proj


def test_every_file_loads_on_postgresql_exactly_as_on_duckdb(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_plain: list[str] = []
    real = postgres_target.PostgresSession._copy_plain

    def spy(self, cur, load, rate):
        why = real(self, cur, load, rate)
        if why is None:
            sent_plain.append(load.file.rel)
        return why

    monkeypatch.setattr(postgres_target.PostgresSession, "_copy_plain", spy)
    duck = make_wh("duckdb", tmp_path / "duck", None)
    pg = make_wh("postgres", tmp_path / "pg", pg_database)
    assert _load_all(pg, tmp_path / "pg") == _load_all(duck, tmp_path / "duck")
    # the plain files went to COPY as they are; the others (quotes, a malformed or blank
    # line, bytes not UTF-8, a CR inside a line, the end-of-data marker) to DuckDB
    assert sorted(sent_plain) == [
        "s/semi.csv",
        "t/backslash.csv",
        "t/crlf.csv",
        "t/header_only.csv",
        "t/open_end.csv",
        "t/plain.csv",
        "t/reordered.csv",
        "t/unicode.csv",
    ]
    for table in ("fz__t", "fz__s"):
        assert _rows(pg, table) == _rows(duck, table), table
    quarantined = "select file_path, line_number, reason from raw._elt_quarantine order by 1, 2"
    assert pg.sql(quarantined) == duck.sql(quarantined)
    # COPY's end-of-data marker is a line like any other: one field, so quarantined
    eof = [(r[1], r[2]) for r in _rows(pg, "fz__t") if r[0] == "t/eof_marker.csv"]
    assert eof == [(2, "10"), (4, "11")]
    manifest = (
        "select raw_table, file_path, rows_loaded, file_id is not null from raw._elt_manifest"
    )
    assert sorted(pg.sql(manifest)) == sorted(duck.sql(manifest))


def test_a_raw_row_names_its_file_by_number_and_a_reload_replaces_it(
    pg_database: str, tmp_path: Path
) -> None:
    wh, data, proj = _two_files_loaded(pg_database, tmp_path)
    columns = wh.sql(
        "select column_name from information_schema.columns where table_name = 'fz__t' "
        "and column_name like '\\_%' order by ordinal_position"
    )
    assert columns == [("_file_id",), ("_row_number",), ("_loaded_at",)]
    ids = dict(wh.sql("select file_path, file_id from raw._elt_manifest"))
    assert sorted(wh.sql("select _file_id, count(*) from raw.fz__t group by 1")) == sorted(
        [(ids["t/a.csv"], 2), (ids["t/b.csv"], 1)]
    )
    write(data, "t/a.csv", b"id,name,note\n1,a,changed\n")
    report = wh.load(data, project=proj, reload=True)
    assert {r.file.rel: r.status for r in report.results}["t/a.csv"] == Outcome.RELOADED
    after = dict(wh.sql("select file_path, file_id from raw._elt_manifest"))
    assert after["t/a.csv"] > max(ids.values())  # a new load, a new number
    assert _rows(wh, "fz__t") == [
        ("t/a.csv", 2, "1", "a", "changed"),
        ("t/b.csv", 2, "3", "c", "z"),
    ]


def test_raw_tables_of_an_older_loader_move_their_path_and_batch_to_the_manifest(
    pg_database: str, tmp_path: Path
) -> None:
    wh, data, proj = _two_files_loaded(pg_database, tmp_path)
    batch = wh.sql("select distinct batch_id from raw._elt_manifest")[0][0]
    # the layout before: path and batch on every row, no file ids; a view reads the path
    wh.execute(
        [
            "alter table raw.fz__t add column _batch_id text, add column _source_file text",
            "update raw.fz__t as r set _batch_id = m.batch_id, _source_file = m.file_path "
            "from raw._elt_manifest as m where m.file_id = r._file_id",
            "alter table raw.fz__t drop column _file_id",
            "update raw._elt_manifest set file_id = null",
            "create view raw.stg_t as select id, _source_file from raw.fz__t",
        ]
    )
    write(data, "t/c.csv", b"id,name,note\n4,d,w\n")
    report = wh.load(data, project=proj)
    assert report.ok
    assert any(
        "raw.fz__t: its rows now name their file by the manifest's file_id" in n and "stg_t" in n
        for n in report.notices
    ), report.notices
    assert _rows(wh, "fz__t") == [
        ("t/a.csv", 2, "1", "a", "x"),
        ("t/a.csv", 3, "2", "b", "y"),
        ("t/b.csv", 2, "3", "c", "z"),
        ("t/c.csv", 2, "4", "d", "w"),
    ]
    assert wh.sql(f"select distinct _batch_id from {wh.raw('fz__t')} where id < '4'") == [(batch,)]
    assert wh.sql(
        "select count(*) from information_schema.columns where table_name = 'fz__t' "
        "and column_name in ('_batch_id', '_source_file')"
    ) == [(0,)]
    ids = [r[0] for r in wh.sql("select file_id from raw._elt_manifest order by file_path")]
    assert len(set(ids)) == 3
    assert None not in ids


def test_raw_rows_no_file_accounts_for_stop_the_move_and_change_nothing(
    pg_database: str, tmp_path: Path
) -> None:
    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    write(data, "t/a.csv", b"id,name,note\n1,a,x\n")
    proj = project(tmp_path, SOURCES)
    assert wh.load(data, project=proj).ok
    wh.execute(
        [
            "alter table raw.fz__t add column _batch_id text, add column _source_file text",
            "update raw.fz__t set _batch_id = 'b', _source_file = 't/gone.csv'",
            "alter table raw.fz__t drop column _file_id",
        ]
    )
    from elt.errors import LoaderError

    with pytest.raises(LoaderError, match=r"raw.fz__t: 1 raw rows belong to no file the manifest"):
        wh.load(data, project=proj)
    assert wh.sql("select _source_file from raw.fz__t") == [("t/gone.csv",)]


def test_a_load_summarizes_the_page_ranges_it_filled(pg_database: str, tmp_path: Path) -> None:
    """The BRIN index on ``_loaded_at`` (the night's filter on raw) covers every full page
    range a load wrote, whether or not autovacuum runs: an unsummarized range matches every
    filter, so the night would read it again, however old."""
    wh = make_wh("postgres", tmp_path, pg_database)
    data, proj = tmp_path / "data", project(tmp_path, SOURCES)
    pad = "x" * 120
    for day in range(2):
        rows = "".join(f"{day * 40_000 + i},n{i},{pad}\n" for i in range(40_000))
        write(data, f"t/day{day}.csv", f"id,name,note\n{rows}".encode())
        assert wh.load(data, project=proj).ok
        pages = wh.sql("select pg_relation_size('raw.fz__t') / 8192")[0][0]
        assert pages > 2 * 128, pages  # full ranges of 128 pages to summarize
        # nothing left for anyone to summarize (the last, partial range never is)
        left = wh.sql("select brin_summarize_new_values('raw.fz__t__loaded_at_brin')")
        assert left == [(0,)], (day, pages)
