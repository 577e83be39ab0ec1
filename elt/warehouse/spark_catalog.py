"""SQL to a Spark target's catalog (the Hive metastore), for the loader's DDL.

The loader writes raw rows as Parquet files itself; Spark only has to know the tables. With
``method: session`` the loader starts a Spark session of its own in local mode (DDL needs no
executors, so it never takes the cluster's cores) with the profile's settings, which name
the metastore and the warehouse directory. With ``method: thrift`` the statements go to the
Spark Thrift server through PyHive, the driver dbt-spark uses.
"""

from __future__ import annotations

import abc
import contextlib
import importlib.util
import multiprocessing
import os
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from elt.errors import LoaderError


def spark_dir() -> Path:
    """Where Spark keeps this project's tables, metastore and cluster files (ELT_SPARK_DIR)."""
    return Path(os.environ.get("ELT_SPARK_DIR", "warehouse/spark")).absolute()


def published_views_path(env_prefix: str) -> Path:
    """The DuckDB file of views over the current published version's Parquet files (the
    publisher rewrites it at each switch; `elt metrics` and DuckDB readers open it): its
    presence says something is published."""
    return spark_dir() / f"{env_prefix}published.duckdb"


def raw_root() -> Path:
    """Where the loader writes raw Parquet files: ELT_SPARK_RAW_DIR, else ELT_SPARK_DIR/raw.

    Spark's executors read these files, so on a real cluster this is storage they all see
    (a shared mount); the default suits a one-machine cluster."""
    explicit = os.environ.get("ELT_SPARK_RAW_DIR")
    return Path(explicit).absolute() if explicit else spark_dir() / "raw"


def compact_files() -> int:
    """A folder with this many single files (a raw table, the manifest, the quarantine, the
    run history) is compacted at the end of a load (ELT_SPARK_COMPACT_FILES, 16; 0: only
    `elt compact` does)."""
    value = os.environ.get("ELT_SPARK_COMPACT_FILES", "16")
    if not value.isdigit():
        raise LoaderError(f"ELT_SPARK_COMPACT_FILES must be a whole number, got {value!r}")
    return int(value) or 1_000_000_000


def use_project_conf() -> None:
    """Spark's configuration directory (its logging) is the project's unless SPARK_CONF_DIR says."""
    os.environ.setdefault("SPARK_CONF_DIR", str(Path(__file__).parent.parent / "spark_conf"))


def bq(name: str) -> str:
    """A Spark SQL identifier in backquotes."""
    return "`" + name.replace("`", "``") + "`"


class Catalog(abc.ABC):
    """Runs statements one at a time (the loader's worker threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        return self.query(statement)[1]

    def query(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The statement's column names and rows."""
        with self._lock:
            try:
                return self._run(statement)
            except LoaderError:
                raise
            except Exception as exc:  # noqa: BLE001 - py4j and PyHive raise many types; each carries Spark's message
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise LoaderError(
                    f"Spark refused: {statement.split(chr(10))[0][:200]}: {first}"
                ) from None

    @abc.abstractmethod
    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class SessionCatalog(Catalog):
    """A Spark session of this project's metastore, in a child process of its own: in local
    mode on one core for DDL (``work`` False: the loader's catalog, which never takes the
    cluster's cores), or on the profile's master for statements that move data (the
    publisher's copies, the page's reads).

    The embedded Derby metastore admits one JVM at a time and is let go only when that JVM
    exits, so the session lives in a child process that ends with :meth:`close` (or with
    this process: it stops when its pipe closes). One `elt daily` can then load, let dbt's
    Spark build, and publish."""

    def __init__(self, parameters: dict[str, Any], work: bool = False) -> None:
        super().__init__()
        if importlib.util.find_spec("pyspark") is None:
            raise LoaderError(
                "the spark target needs pyspark: install the project's spark extra "
                '(pip install -e ".[spark]", or make venv-spark)'
            )
        use_project_conf()
        spawn = multiprocessing.get_context("spawn")
        self._pipe, theirs = spawn.Pipe()
        self._process = spawn.Process(
            target=_serve, args=(theirs, parameters, work), name="elt spark session", daemon=True
        )
        self._process.start()
        theirs.close()
        status, message = self._receive()
        if status != "ok":
            self._process.join(timeout=30)
            raise LoaderError(f"cannot start Spark for the catalog: {message}")

    def _receive(self) -> tuple[str, Any]:
        try:
            answer: tuple[str, Any] = self._pipe.recv()
        except (EOFError, OSError):
            raise LoaderError(
                f"the Spark session's process ended (exit {self._process.exitcode}); "
                "its messages are above"
            ) from None
        return answer

    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        self._pipe.send(statement)
        status, value = self._receive()
        if status != "ok":
            raise SparkRefused(value)
        columns, rows = value
        return columns, rows

    def alive(self) -> bool:
        return self._process.is_alive()

    def close(self) -> None:
        if not self._process.is_alive():
            return
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(timeout=120)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=30)
        self._pipe.close()


class SparkRefused(Exception):
    """Spark's message for a statement it refused (its first line)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _serve(pipe: Connection, parameters: dict[str, Any], work: bool) -> None:
    """The child process: start the session, then run each statement the pipe brings until
    it brings None or closes (the parent ended)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in parameters.items():
        builder = builder.config(key, str(value))
    # the metastore and warehouse are the profile's; no UI
    if work:
        builder = builder.appName("elt (publish)")
    else:
        builder = builder.master("local[1]").appName("elt (catalog)")
    builder = builder.config("spark.ui.enabled", "false").config(
        "spark.ui.showConsoleProgress", "false"
    )
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - py4j raises many types
        pipe.send(("error", _first_line(exc)))
        return
    spark.sparkContext.setLogLevel("ERROR")
    pipe.send(("ok", None))
    try:
        while True:
            try:
                statement = pipe.recv()
            except (EOFError, OSError):
                break
            if statement is None:
                break
            try:
                frame = spark.sql(statement)
                answer: tuple[str, Any] = (
                    "ok",
                    (list(frame.columns), [tuple(r) for r in frame.collect()]),
                )
            except Exception as exc:  # noqa: BLE001 - py4j raises many types
                answer = ("error", _first_line(exc))
            pipe.send(answer)
    finally:
        spark.stop()


class ThriftCatalog(Catalog):
    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__()
        try:
            from pyhive import hive
        except ImportError:
            raise LoaderError(
                "the spark thrift target needs PyHive: install the project's spark extra"
            ) from None
        host, port = settings.get("host"), int(settings.get("port") or 10000)
        try:
            self.con = hive.connect(host=host, port=port, username=settings.get("user") or "elt")
        except Exception as exc:  # noqa: BLE001 - py4j and PyHive raise many types
            raise LoaderError(
                f"cannot reach the Spark Thrift server at {host}:{port}: {exc}"
            ) from None

    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.cursor()
        try:
            cur.execute(statement)
            if not cur.description:
                return [], []
            try:
                rows = cur.fetchall()
            except TypeError:  # PyHive on a statement without a result set (DDL)
                return [], []
            return [d[0] for d in cur.description], [tuple(r) for r in rows or []]
        finally:
            cur.close()

    def close(self) -> None:
        self.con.close()


class _Lent(Catalog):
    """The shared session, lent to one user: its statements go to the session (one at a
    time), its close leaves the session to the block that owns it."""

    def __init__(self, session: SessionCatalog) -> None:
        super().__init__()
        self._session = session

    def _run(self, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self._session.query(statement)

    def close(self) -> None:
        pass


class _Lender:
    """Holds at most one Spark session and lends it to every catalog opened meanwhile."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._session: SessionCatalog | None = None
        self._parameters: dict[str, Any] | None = None

    def lend(self, parameters: dict[str, Any]) -> Catalog:
        with self._lock:
            alive = self._session is not None and self._session.alive()
            if not alive or parameters != self._parameters:
                self._close()
                # on the profile's master: the block's later users copy and read data
                self._session = SessionCatalog(parameters, work=True)
                self._parameters = parameters
            assert self._session is not None
            return _Lent(self._session)

    def release(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.close()


_lender: _Lender | None = None


@contextlib.contextmanager
def shared_session() -> Iterator[None]:
    """Within this block every catalog opened on a session target is one Spark session (on
    the profile's master), started at the first need and stopped at the block's end or at
    :func:`release_shared_session`. A night's steps (the load, its scope, the run history,
    the audit and copy, the page) then start Spark twice, before and after dbt's build,
    instead of once each. A nested block is the outer one."""
    global _lender
    if _lender is not None:
        yield
        return
    _lender = _Lender()
    try:
        yield
    finally:
        lender, _lender = _lender, None
        lender.release()


def release_shared_session() -> None:
    """Stop the shared session, if any, so that another JVM may open the metastore (embedded
    Derby admits one): before dbt's Spark starts. The next catalog starts a new one."""
    if _lender is not None:
        _lender.release()


def open_catalog(settings: dict[str, Any], work: bool = False) -> Catalog:
    """The target's catalog: its Thrift server, or a Spark session of this process (local,
    one core; on the profile's master when ``work``), or the shared one within
    :func:`shared_session`."""
    if settings.get("method") == "thrift":
        return ThriftCatalog(settings)
    parameters = dict(settings.get("server_side_parameters") or {})
    if _lender is not None:
        return _lender.lend(parameters)
    return SessionCatalog(parameters, work)
