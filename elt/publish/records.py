"""The publisher's records kept as files in a version folder, for the stores whose engine has
no transactional table of its own for them (DuckDB's published files, Spark's Parquet): one
JSON file per version and per state key, each replaced atomically, under one lock.

    <folder>/v000042.json     a version's sidecar (elt.publish.versions.Version)
    <folder>/state/<key>.json the publisher's state (elt.publish.control)
    <folder>/.lock            one publish, switch or prune at a time
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from elt.errors import LoaderError, TransientError
from elt.publish.versions import Version


class FileRecords:
    def __init__(self, folder: Path, lock_timeout: float = 60.0) -> None:
        self.folder = folder
        self.lock_timeout = lock_timeout

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The publisher's lock: one publish, rollback or prune at a time."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.lock_timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TransientError(
                            f"another elt publish or rollback holds {self.folder / '.lock'}; "
                            f"waited {self.lock_timeout:.0f} s"
                        ) from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)

    # --- versions' sidecars -----------------------------------------------------------------

    def sidecar(self, number: int) -> Path:
        return self.folder / f"v{number:06d}.json"

    def sidecars(self) -> list[Version]:
        """Every version with a sidecar, oldest first (``is_current`` as the store decides)."""
        if not self.folder.is_dir():
            return []
        return [
            Version.from_json(json.loads(meta.read_text()))
            for meta in sorted(self.folder.glob("v*.json"))
        ]

    def write_sidecar(self, version: Version) -> None:
        """The version's sidecar (whether it is current is not recorded: the store says)."""
        write_json(self.sidecar(version.number), {**version.as_json(), "is_current": False})

    # --- the publisher's state (elt.publish.control): one JSON file per key ------------------

    def get_state(self, key: str) -> Any:
        path = self.folder / "state" / f"{key}.json"
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise LoaderError(f"cannot read {path}: {exc}") from None

    def put_state(self, key: str, value: Any) -> None:
        path = self.folder / "state" / f"{key}.json"
        if value is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, value)


def write_json(path: Path, value: Any) -> None:
    """``value`` as JSON in ``path``, written beside it and renamed into place."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(value, indent=2, default=str) + "\n")
    os.replace(partial, path)
