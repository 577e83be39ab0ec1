"""The Spark loader's files without a JVM (elt.loader.spark_target, elt.loader.spark_files):
a file's manifest row commits it, a killed load leaves nothing, a reload replaces the rows,
and compaction keeps every folder, raw tables and bookkeeping alike, bounded over a year of
nights with the same rows."""

from __future__ import annotations

import datetime as dt
import json
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from elt.history import runs
from elt.history.tables import RUN_NODES, RUNS
from elt.loader import spark_files
from elt.loader.bookkeeping import MANIFEST, QUARANTINE
from elt.loader.spark_files import file_id
from elt.loader.spark_target import SparkWarehouse
from elt.tests.conftest import REPO


def _manifest_row(rel: str, batch: str, status: str = "loaded") -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    return MANIFEST.rows(
        [
            (
                rel,
                "shop.orders",
                "raw.shop__orders",
                10,
                "ab",
                2,
                2 if status == "loaded" else 0,
                0,
                status,
                None,
                now,
                now,
                batch,
                now,
                None,
                7,
                now,
            )
        ]
    )


def _part(folder: Path, fid: str, batch: str) -> Path:
    path = folder / f"part-{fid}-{batch}.parquet"
    pq.write_table(pa.table({"order_id": ["1", "2"]}), path)
    return path


def test_a_load_killed_before_its_manifest_file_leaves_nothing_after_the_next_start(
    bare_spark_warehouse,
) -> None:
    wh = bare_spark_warehouse
    raw = wh.table_dir("raw", "shop__orders")
    a, b = file_id("shop/orders/a.csv"), file_id("shop/orders/b.csv")
    kept = _part(raw, a, "b1")
    wh.commit_manifest(a, "b1", _manifest_row("shop/orders/a.csv", "b1"))
    orphan = _part(raw, b, "b2")  # written, then killed before its manifest file
    half_reload = _part(raw, a, "b2")  # a reload of a.csv killed before its manifest file
    (raw / ".part-x.parquet.tmp").write_text("half")
    wh._sweep({"raw"})
    assert kept.exists()
    assert not orphan.exists()
    assert not half_reload.exists()
    assert not list(raw.glob("*.tmp"))
    assert set(wh.manifest()) == {("raw.shop__orders", "shop/orders/a.csv")}


def test_a_reload_replaces_the_files_rows_once_its_manifest_file_is_written(
    bare_spark_warehouse,
) -> None:
    wh = bare_spark_warehouse
    raw = wh.table_dir("raw", "shop__orders")
    a = file_id("shop/orders/a.csv")
    old = _part(raw, a, "b1")
    wh.commit_manifest(a, "b1", _manifest_row("shop/orders/a.csv", "b1"))
    new = _part(raw, a, "b2")
    assert old.exists()  # until the new manifest file commits, the old rows stand
    wh.commit_manifest(a, "b2", _manifest_row("shop/orders/a.csv", "b2"))
    assert new.exists()
    assert not old.exists()
    entry = wh.manifest()[("raw.shop__orders", "shop/orders/a.csv")]
    assert entry.status == "loaded"
    assert len(list(wh.book_dir(MANIFEST).glob("*.parquet"))) == 1


def _raw_part(folder: Path, rel: str, batch: str, night: int) -> None:
    """A source file's raw part file as the loader writes it: two rows and their metadata."""
    loaded_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=night)
    table = pa.table(
        {
            "order_id": [f"{night}-{batch}-1", f"{night}-{batch}-2"],
            "_batch_id": [batch, batch],
            "_source_file": [rel, rel],
            "_row_number": pa.array([1, 2], pa.int64()),
            "_loaded_at": pa.array([loaded_at, loaded_at], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, folder / f"part-{file_id(rel)}-{batch}.parquet")


def _listed(folder: Path) -> list[Path]:
    """The files Spark lists in a table's folder: it skips names starting with . or _."""
    return [p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_"))]


def _visible(folder: Path, columns: str) -> list[tuple[object, ...]]:
    """The folder's rows as Spark reads them: every data file's."""
    files = _listed(folder)
    if not files:
        return []
    with duckdb.connect() as con:
        return con.execute(
            f"select {columns} from read_parquet(?, union_by_name = true) order by all",
            [[str(p) for p in files]],
        ).fetchall()


def _rows(folder: Path) -> list[tuple[object, ...]]:
    return _visible(folder, "_source_file, _batch_id, order_id")


def _night_of_files(wh: SparkWarehouse, raw: Path, night: int, batch: str) -> None:
    rel = f"shop/orders/{night:03d}.csv"
    _raw_part(raw, rel, batch, night)
    wh.commit_manifest(file_id(rel), batch, _manifest_row(rel, batch))


def test_sixty_nights_of_compaction_keep_a_raw_tables_files_bounded_and_its_rows(
    bare_spark_warehouse: SparkWarehouse,
) -> None:
    """A night's load compacts a raw table once it has N part files (here 4), and the compacted
    files once there are N: over 60 nights at most 2 x (N - 1) files after a load, not 60;
    the same rows; a reload of a compacted file's source replaces its rows; a compaction
    killed before or after its rename leaves every row once."""
    wh = bare_spark_warehouse
    raw = wh.table_dir("raw", "shop__orders")
    most = 0
    for night in range(1, 61):
        _night_of_files(wh, raw, night, f"b{night:03d}")
        wh.compact({"raw"}, 4)
        most = max(most, len(spark_files.data_files(raw)))
    expected = [
        (f"shop/orders/{n:03d}.csv", f"b{n:03d}", f"{n}-b{n:03d}-{i}")
        for n in range(1, 61)
        for i in (1, 2)
    ]
    assert _rows(raw) == sorted(expected)
    assert most == 2 * (4 - 1)  # 3 compacted files and 3 part files, the night before a merge
    # nights 1-48 merged, 49-52 and 53-56 compacted, 57-60 compacted tonight
    assert len(spark_files.compacted_files(raw)) == 4 - 1
    assert len(spark_files.data_files(raw)) == 4 - 1
    assert wh.compact({"raw"}, 4) == []  # idempotent: nothing to do

    # a reload of a file whose rows were compacted: its new batch replaces them
    _night_of_files(wh, raw, 3, "b999")
    reloaded = _rows(raw)
    assert ("shop/orders/003.csv", "b003", "3-b003-1") not in reloaded
    assert ("shop/orders/003.csv", "b999", "3-b999-1") in reloaded
    assert len(reloaded) == 120

    # a compaction killed after writing its file, before the rename: undone
    before = _rows(raw)
    parts = [p for p in spark_files.data_files(raw) if not spark_files.COMPACTED.match(p.name)]
    (raw / ".part-c-0123456789abcdef.parquet.tmp").write_bytes(parts[0].read_bytes())
    (raw / spark_files.JOURNAL).write_text(
        json.dumps({"output": "part-c-0123456789abcdef.parquet", "inputs": [p.name for p in parts]})
    )
    wh._sweep({"raw"})
    assert _rows(raw) == before
    assert not (raw / spark_files.JOURNAL).exists()
    assert not list(raw.glob(".*.tmp"))
    # ... killed after the rename, before deleting what it replaced: finished by the next
    saved = {p.name: p.read_bytes() for p in spark_files.data_files(raw)}
    assert spark_files.compact(wh.duck, raw, lambda p: True, 2) is not None
    assert _rows(raw) == before
    [output] = [p.name for p in spark_files.data_files(raw) if p.name not in saved]
    kept = {n: data for n, data in saved.items() if not (raw / n).exists()}
    for name, data in kept.items():  # what it replaced, back as if never deleted
        (raw / name).write_bytes(data)
    assert len(_rows(raw)) > len(before)  # a reader would see rows twice until the recovery
    (raw / spark_files.JOURNAL).write_text(json.dumps({"output": output, "inputs": sorted(kept)}))
    wh._sweep({"raw"})
    assert _rows(raw) == before
    assert len(spark_files.data_files(raw)) == 2  # the merged file and the reload's part


def test_a_run_is_recorded_once(bare_spark_warehouse: SparkWarehouse) -> None:
    wh = bare_spark_warehouse
    now = dt.datetime.now(dt.UTC)
    context = runs.context_for("spark", REPO, "dev_tester")
    record = runs.from_load("20261129T000000Z-abcdef", context, now, now, True)
    assert wh.record_run(record.run, record.nodes) is True
    assert wh.record_run(record.run, record.nodes) is False


# -- a year of nights: the bookkeeping compacted as the raw tables are ----------------------

NIGHTS = 365
MIN_FILES = 6  # a load compacts at ELT_SPARK_COMPACT_FILES (16); smaller here, more merges
_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _quarantine(wh: SparkWarehouse, rel: str, batch: str) -> None:
    rows = [(rel, "shop.orders", n, f"bad line {n}", "unclosed quote", batch, _NOW) for n in (4, 9)]
    pq.write_table(
        QUARANTINE.rows(rows), wh.book_dir(QUARANTINE) / f"{file_id(rel)}-{batch}.parquet"
    )


def _nodes(invocation: str) -> pa.Table:
    kinds: dict[str, Any] = {"text": "success", "bigint": 1, "double precision": 1.5}
    kinds["timestamptz"] = _NOW
    return RUN_NODES.rows(
        [
            tuple(
                invocation
                if c.name == "invocation_id"
                else f"model.shop.m{i}"
                if c.name == "unique_id"
                else kinds[c.kind]
                for c in RUN_NODES.columns
            )
            for i in range(3)
        ]
    )


_CONTEXT = runs.RunContext("prod", "spark", "abc123")


def _record_runs(wh: SparkWarehouse, night: int) -> None:
    context = _CONTEXT
    for kind, nodes in (("load", False), ("build", True)):
        record = runs.from_load(f"{kind}-{night:03d}", context, _NOW, _NOW, True)
        empty = record.nodes
        assert wh.record_run(record.run, _nodes(record.invocation_id) if nodes else empty)


class Year:
    """What a year of nights left, as the loader's rules say it must be."""

    def __init__(self) -> None:
        self.loaded: dict[str, tuple[str, int]] = {}  # file -> its loaded batch and night
        self.failed: dict[str, str] = {}  # file -> the batch that found it broken
        self.quarantined: dict[str, str] = {}  # file -> the batch of its quarantined lines
        self.most: dict[str, int] = {}  # folder -> the most files it held after a load

    def load(self, wh: SparkWarehouse, rel: str, night: int, rejects: bool) -> None:
        batch = f"b{night:03d}"
        _raw_part(wh.table_dir("raw", "shop__orders"), rel, batch, night)
        if rejects:
            _quarantine(wh, rel, batch)
            self.quarantined[rel] = batch
        else:
            self.quarantined.pop(rel, None)
        wh.commit_manifest(file_id(rel), batch, _manifest_row(rel, batch))
        self.loaded[rel] = (batch, night)

    def night(self, wh: SparkWarehouse, night: int) -> None:
        for k in (1, 2):
            self.load(wh, f"shop/orders/{night:03d}-{k}.csv", night, k == 2 and night % 3 == 0)
        if night % 7 == 0:  # a file loaded long ago is delivered again, changed: reloaded
            self.load(wh, f"shop/orders/{night // 2:03d}-2.csv", night, True)
        if night % 30 == 0:  # a file that cannot be read: its manifest row says failed
            rel, batch = f"shop/orders/broken-{night:03d}.csv", f"b{night:03d}"
            wh.commit_manifest(file_id(rel), batch, _manifest_row(rel, batch, "failed"))
            self.failed[rel] = batch
        wh.compact({"raw"}, MIN_FILES)  # as the load does at its end, under its lock
        for folder in self.folders(wh):
            count = len(_listed(folder))
            self.most[folder.name] = max(self.most.get(folder.name, 0), count)
        _record_runs(wh, night)  # after the load's end (elt load, then dbt build)

    @staticmethod
    def folders(wh: SparkWarehouse) -> list[Path]:
        books = [wh.book_dir(b) for b in (MANIFEST, QUARANTINE, RUNS, RUN_NODES)]
        return [wh.table_dir("raw", "shop__orders"), *books]

    def raw_rows(self) -> list[tuple[object, ...]]:
        return sorted(
            (rel, batch, f"{night}-{batch}-{i}")
            for rel, (batch, night) in self.loaded.items()
            for i in (1, 2)
        )

    def manifest_rows(self) -> list[tuple[object, ...]]:
        rows = [(rel, batch, "loaded") for rel, (batch, _) in self.loaded.items()]
        return sorted(rows + [(rel, batch, "failed") for rel, batch in self.failed.items()])

    def quarantine_rows(self) -> list[tuple[object, ...]]:
        return sorted((rel, batch, n) for rel, batch in self.quarantined.items() for n in (4, 9))


def test_a_year_of_nights_keeps_every_folder_bounded_and_every_row_once(
    bare_spark_warehouse: SparkWarehouse,
) -> None:
    """Each night loads two files (one with rejected lines every third night), reloads a file
    whose rows were compacted long ago every seventh, records a broken file every thirtieth,
    compacts as the load does, and records its runs. After a year no folder Spark lists has
    more than 2 x (N - 1) files, and each holds each row once: a file's newest batch in the
    raw table, the manifest and the quarantine, each run and its nodes in the history."""
    wh = bare_spark_warehouse
    year = Year()
    for night in range(1, NIGHTS + 1):
        year.night(wh, night)
    bound = 2 * (MIN_FILES - 1)
    # each folder came near the bound, where a year wrote 150 to 800 files to each
    assert all(MIN_FILES < most <= bound for most in year.most.values()), year.most
    raw, manifest, quarantine, run_dir, node_dir = year.folders(wh)
    assert _rows(raw) == year.raw_rows()
    assert _visible(manifest, "file_path, batch_id, status") == year.manifest_rows()
    assert _visible(quarantine, "file_path, batch_id, line_number") == year.quarantine_rows()
    invocations = [f"{kind}-{n:03d}" for n in range(1, NIGHTS + 1) for kind in ("build", "load")]
    assert _visible(run_dir, "invocation_id") == [(i,) for i in sorted(invocations)]
    nodes = _visible(node_dir, "invocation_id, unique_id")
    assert nodes == sorted(
        (i, f"model.shop.m{k}") for i in invocations if "build" in i for k in (0, 1, 2)
    )

    # what the loader reads: each file's newest row, wherever it lies
    entries = wh.manifest()
    assert len(entries) == len(year.loaded) + len(year.failed)
    assert entries[("raw.shop__orders", "shop/orders/004-1.csv")].status == "loaded"
    assert entries[("raw.shop__orders", "shop/orders/broken-030.csv")].status == "failed"
    # a run whose row was compacted is recorded once
    old = runs.from_load("load-001", _CONTEXT, _NOW, _NOW, True)
    assert wh.record_run(old.run, old.nodes) is False
    assert wh.compact({"raw"}, MIN_FILES) == []  # idempotent: nothing to do


def test_an_unchanged_file_touched_in_a_compacted_manifest_keeps_one_row(
    bare_spark_warehouse: SparkWarehouse,
) -> None:
    """A loaded file seen again unchanged but with a new modification time: its manifest row,
    inside a compacted file, takes the new time; the folder still holds one row per file."""
    wh = bare_spark_warehouse
    year = Year()
    for night in range(1, 8):
        year.night(wh, night)
    key = ("raw.shop__orders", "shop/orders/001-1.csv")
    at = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    seen = types.SimpleNamespace(rel=key[1], modified_at=at)
    assert spark_files.COMPACTED.match(wh._current_manifest_files()[file_id(key[1])].path.name)
    wh.touch([seen])  # type: ignore[list-item]
    assert wh.manifest()[key].modified_at == at
    assert _visible(wh.book_dir(MANIFEST), "file_path, batch_id, status") == year.manifest_rows()


def test_a_reload_killed_before_it_purged_its_compacted_rows_is_finished_by_the_next_load(
    bare_spark_warehouse: SparkWarehouse,
) -> None:
    """A reload's manifest file written, then killed before the file's older rows left the
    compacted files: the newest row is the commit, and the next load's sweep purges the
    older rows of the manifest, the raw table and the quarantine."""
    wh = bare_spark_warehouse
    year = Year()
    for night in range(1, 13):
        year.night(wh, night)
    rel, batch = "shop/orders/003-2.csv", "b099"  # compacted, with quarantined lines
    _raw_part(wh.table_dir("raw", "shop__orders"), rel, batch, 99)
    _quarantine(wh, rel, batch)
    pq.write_table(
        _manifest_row(rel, batch), wh.book_dir(MANIFEST) / f"{file_id(rel)}-{batch}.parquet"
    )
    year.loaded[rel], year.quarantined[rel] = (batch, 99), batch
    assert wh._current_manifest_files()[file_id(rel)].batch == batch
    wh._sweep({"raw"})
    raw, manifest, quarantine, *_ = year.folders(wh)
    assert _rows(raw) == year.raw_rows()
    assert _visible(manifest, "file_path, batch_id, status") == year.manifest_rows()
    assert _visible(quarantine, "file_path, batch_id, line_number") == year.quarantine_rows()


def test_reloads_committed_by_concurrent_threads_purge_a_compacted_file_one_at_a_time(
    bare_spark_warehouse: SparkWarehouse,
) -> None:
    """The loader's threads commit files at once; each commit purges the file's older rows
    from the same compacted files. Every older row goes, every new one stays."""
    wh = bare_spark_warehouse
    year = Year()
    for night in range(1, 13):
        year.night(wh, night)
    files = [f"shop/orders/{n:03d}-1.csv" for n in range(1, 13)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda rel: year.load(wh, rel, 200, False), files))
    raw, manifest, *_ = year.folders(wh)
    assert _rows(raw) == year.raw_rows()
    assert _visible(manifest, "file_path, batch_id, status") == year.manifest_rows()
