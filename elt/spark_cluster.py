"""A local Spark standalone cluster for development and CI: one master and two workers (one
core each, so a job's tasks run in two executors as on a real cluster), bound to 127.0.0.1,
started and stopped with Spark's own daemon script from the pyspark wheel.

State (logs, pid files, the worker's scratch) lives in ELT_SPARK_DIR/cluster. dbt reaches the
cluster through ``ELT_SPARK_MASTER=spark://127.0.0.1:<port>`` (``make`` sets it for
TARGET=spark). On a real cluster none of this runs: point ELT_SPARK_MASTER at its master.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from elt.errors import LoaderError
from elt.warehouse.spark_catalog import spark_dir, use_project_conf

MASTER = "org.apache.spark.deploy.master.Master"
THRIFT = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
WORKER = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"


@dataclasses.dataclass(frozen=True)
class ClusterSettings:
    master_port: int = int(os.environ.get("ELT_SPARK_MASTER_PORT", "7077"))
    master_ui_port: int = int(os.environ.get("ELT_SPARK_MASTER_UI_PORT", "8081"))
    worker_ui_port: int = int(os.environ.get("ELT_SPARK_WORKER_UI_PORT", "8082"))
    workers: int = int(os.environ.get("ELT_SPARK_WORKERS", "2"))
    worker_cores: int = int(os.environ.get("ELT_SPARK_WORKER_CORES", "1"))
    worker_memory: str = os.environ.get("ELT_SPARK_WORKER_MEMORY", "3g")

    thrift_port: int = int(os.environ.get("ELT_SPARK_THRIFT_PORT", "10000"))

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.master_port}"


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        raise LoaderError(
            "Spark is not installed: install the project's spark extra (make venv-spark)"
        ) from None
    return Path(pyspark.__file__).parent


def _env(state: Path) -> dict[str, str]:
    home = spark_home()
    use_project_conf()
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(home),
        SPARK_LOG_DIR=str(state / "logs"),
        SPARK_PID_DIR=str(state / "pids"),
        SPARK_WORKER_DIR=str(state / "work"),
        SPARK_LOCAL_IP=HOST,
        SPARK_MASTER_HOST=HOST,
    )
    return env


def _daemon(
    action: str, cls: str, *args: str, instance: int = 1
) -> subprocess.CompletedProcess[str]:
    state = spark_dir() / "cluster"
    for sub in ("logs", "pids", "work"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    script = spark_home() / "sbin" / "spark-daemon.sh"
    return subprocess.run(
        ["bash", str(script), action, cls, str(instance), *args],
        env=_env(state),
        capture_output=True,
        text=True,
        check=False,
    )


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def alive_workers(settings: ClusterSettings) -> int:
    """Workers registered with the master (its status page's JSON), 0 when it does not answer."""
    url = f"http://{HOST}:{settings.master_ui_port}/json/"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(json.load(response).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            logs = spark_dir() / "cluster" / "logs"
            raise LoaderError(f"waited {timeout:.0f} s for the Spark {what} (logs: {logs})")
        time.sleep(0.5)


def start(settings: ClusterSettings | None = None, timeout: float = 60.0) -> str:
    """Start the master and the workers unless they run; returns the master URL."""
    settings = settings or ClusterSettings()
    if not _listening(settings.master_port):
        done = _daemon(
            "start",
            MASTER,
            "--host",
            HOST,
            "--port",
            str(settings.master_port),
            "--webui-port",
            str(settings.master_ui_port),
        )
        if done.returncode != 0:
            raise LoaderError(f"cannot start the Spark master: {done.stdout}{done.stderr}".strip())
        _wait("master to start", lambda: _listening(settings.master_port), timeout)
    alive = alive_workers(settings)
    # worker N is the daemon script's instance N: its own pid file, log and web UI port
    for instance in range(alive + 1, settings.workers + 1):
        done = _daemon(
            "start",
            WORKER,
            "--host",
            HOST,
            "--cores",
            str(settings.worker_cores),
            "--memory",
            settings.worker_memory,
            "--webui-port",
            str(settings.worker_ui_port + instance - 1),
            settings.master_url,
            instance=instance,
        )
        if done.returncode != 0:
            raise LoaderError(
                f"cannot start Spark worker {instance}: {done.stdout}{done.stderr}".strip()
            )
    _wait(
        f"{settings.workers} workers to register",
        lambda: alive_workers(settings) >= settings.workers,
        timeout,
    )
    return settings.master_url


def stop(settings: ClusterSettings | None = None, timeout: float = 60.0) -> None:
    """Stop the workers, then the master (nothing when they are not running)."""
    settings = settings or ClusterSettings()
    for instance in range(1, max(settings.workers, 2) + 1):
        _daemon("stop", WORKER, instance=instance)
    _daemon("stop", MASTER)
    _wait("master to stop", lambda: not _listening(settings.master_port), timeout)


def status(settings: ClusterSettings | None = None) -> str:
    settings = settings or ClusterSettings()
    master = "up" if _listening(settings.master_port) else "down"
    worker = f"{alive_workers(settings)} alive of {settings.workers}"
    thrift = "up" if _listening(settings.thrift_port) else "down"
    return (
        f"master {settings.master_url}: {master}; workers: {worker} ({settings.worker_cores} "
        f"core{'s' if settings.worker_cores != 1 else ''}, {settings.worker_memory} each); Thrift server {HOST}:{settings.thrift_port}: {thrift}; "
        f"state in {spark_dir() / 'cluster'}"
    )


def start_thrift(
    parameters: dict[str, object], settings: ClusterSettings | None = None, timeout: float = 120.0
) -> int:
    """Start a Spark Thrift server on 127.0.0.1 with the `spark` target's settings (its master,
    metastore and warehouse), unless one listens already; returns its port."""
    settings = settings or ClusterSettings()
    if not _listening(settings.thrift_port):
        args = ["--name", "elt_warehouse thrift server"]
        for key, value in parameters.items():
            args += ["--conf", f"{key}={value}"]
        args += [
            "--hiveconf",
            f"hive.server2.thrift.port={settings.thrift_port}",
            "--hiveconf",
            f"hive.server2.thrift.bind.host={HOST}",
        ]
        done = _daemon("submit", THRIFT, *args)
        if done.returncode != 0:
            raise LoaderError(
                f"cannot start the Spark Thrift server: {done.stdout}{done.stderr}".strip()
            )
        _wait("Thrift server to listen", lambda: _listening(settings.thrift_port), timeout)
    return settings.thrift_port


def stop_thrift(settings: ClusterSettings | None = None, timeout: float = 60.0) -> None:
    settings = settings or ClusterSettings()
    _daemon("stop", THRIFT)
    _wait("Thrift server to stop", lambda: not _listening(settings.thrift_port), timeout)
