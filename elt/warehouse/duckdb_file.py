"""A DuckDB file opened the way every command opens it: waiting a while for its lock.

DuckDB's file lock is one writer or any number of readers, across processes. The loader, the
report and the publisher wait for it up to a timeout, then give up with a TransientError (a
rerun succeeds once the holder is done); any other failure to open is the settings' error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

from elt.errors import LoaderError, TransientError

T = TypeVar("T")


def wait_for_lock(open_file: Callable[[], T], description: str, timeout: float, holders: str) -> T:
    """``open_file()``, retried while another process holds the lock, up to ``timeout`` s.

    ``description`` names the file for messages; ``holders`` says who may hold it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return open_file()
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0]
            if "lock" not in str(exc).lower():
                raise LoaderError(f"{description}: cannot open: {first}") from None
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"{description} is in use by another process ({holders}); "
                    f"waited {timeout:.0f} s for its lock: {first}"
                ) from None
            time.sleep(0.25)
