"""One Spark session per side of dbt's build (``elt.warehouse.spark_catalog.shared_session``):
the night's steps before dbt share one, those after it another, and none is alive while dbt
runs (embedded Derby admits one JVM). Checked with a stand-in session: no JVM."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from elt.warehouse import spark_catalog
from elt.warehouse.spark_catalog import open_catalog, release_shared_session, shared_session

SETTINGS = {"method": "session", "server_side_parameters": {"spark.master": "local[2]"}}


class FakeSession(spark_catalog.Catalog):
    """Counts its starts and stops; answers each statement with its own number."""

    started: ClassVar[list[FakeSession]] = []

    def __init__(self, parameters: dict[str, Any], work: bool = False) -> None:
        super().__init__()
        self.parameters, self.work = parameters, work
        self.open = True
        self.statements: list[str] = []
        FakeSession.started.append(self)

    def alive(self) -> bool:
        return self.open

    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        assert self.open, "a statement to a stopped session"
        self.statements.append(statement)
        return ["n"], [(FakeSession.started.index(self),)]

    def close(self) -> None:
        self.open = False


@pytest.fixture(autouse=True)
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeSession.started = []
    monkeypatch.setattr(spark_catalog, "SessionCatalog", FakeSession)


def test_without_a_block_each_catalog_is_a_session_of_its_own() -> None:
    first, second = open_catalog(SETTINGS), open_catalog(SETTINGS, work=True)
    assert len(FakeSession.started) == 2
    assert (FakeSession.started[0].work, FakeSession.started[1].work) == (False, True)
    first.close()
    second.close()


def test_a_block_lends_one_session_and_stops_it_at_its_end() -> None:
    with shared_session():
        loader = open_catalog(SETTINGS)  # the loader's catalog
        assert loader.sql("create database raw") == [(0,)]
        loader.close()  # the loader is done; the session stays for the next step
        publisher = open_catalog(SETTINGS, work=True)
        assert publisher.sql("select 1") == [(0,)]
        [session] = FakeSession.started
        assert session.alive()
        # the block's session is on the profile's master: its later users copy data
        assert session.work
    assert not session.alive()
    assert session.statements == ["create database raw", "select 1"]


def test_releasing_before_dbt_stops_it_and_the_next_step_starts_another() -> None:
    with shared_session():
        open_catalog(SETTINGS).sql("before dbt")
        release_shared_session()  # run_dbt does this before dbt's Spark starts
        assert [s.open for s in FakeSession.started] == [False]
        after = open_catalog(SETTINGS, work=True)
        assert after.sql("after dbt") == [(1,)]
        assert [s.open for s in FakeSession.started] == [False, True]
    assert [s.open for s in FakeSession.started] == [False, False]


def test_a_nested_block_is_the_outer_one() -> None:
    with shared_session():
        open_catalog(SETTINGS).sql("outer")
        with shared_session():
            open_catalog(SETTINGS).sql("inner")
        assert FakeSession.started[0].open  # the inner block's end stops nothing
    assert len(FakeSession.started) == 1
    assert not FakeSession.started[0].open


def test_a_session_that_died_or_another_metastore_gets_a_new_one() -> None:
    other = {"method": "session", "server_side_parameters": {"spark.master": "local[1]"}}
    with shared_session():
        open_catalog(SETTINGS).sql("a")
        FakeSession.started[0].open = False  # its process ended
        open_catalog(SETTINGS).sql("b")
        open_catalog(other).sql("c")  # one JVM at a time: the previous one stops first
        assert [s.open for s in FakeSession.started] == [False, False, True]
        assert FakeSession.started[2].parameters == other["server_side_parameters"]


def test_the_loaders_threads_share_the_lent_session_one_statement_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inside = threading.Lock()
    overlaps: list[str] = []

    class Slow(FakeSession):
        def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            if not inside.acquire(blocking=False):
                overlaps.append(statement)
                return [], []
            try:
                threading.Event().wait(0.01)
                return super()._run(statement)
            finally:
                inside.release()

    monkeypatch.setattr(spark_catalog, "SessionCatalog", Slow)
    with shared_session():
        catalogs = [open_catalog(SETTINGS) for _ in range(4)]
        threads = [
            threading.Thread(target=c.sql, args=(f"statement {i}",)) for i, c in enumerate(catalogs)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert overlaps == []
    assert len(FakeSession.started) == 1
