"""Structured JSON-lines events of a load, for log shippers (``elt load --log-json``).

One JSON object per line: ``ts`` (UTC, ISO-8601), ``level`` (info / warning / error),
``logger``, ``event`` and the event's fields. Written by hand (a dozen lines) rather than
through a logging framework: the loader emits four kinds of event and nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import IO, Any

from elt.loader.run import LoadReport
from elt.loader.warehouse import FileResult

LOGGER = "elt.load"


class EventLog:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._lock = threading.Lock()  # files finish on worker threads

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "logger": LOGGER,
            "event": event,
            **fields,
        }
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def planned(self, target: str, data_dir: str, new: int, skipped: int) -> None:
        self.emit(
            "load_planned", target=target, data_dir=data_dir, files_new=new, files_skipped=skipped
        )

    def file(self, r: FileResult) -> None:
        failed = r.status in ("failed", "refused")
        level = (
            "error"
            if failed
            else "warning"
            if r.rows_quarantined or r.notices or r.status == "waiting"
            else "info"
        )
        self.emit(
            "file_" + r.status,
            level,
            file=r.file.rel,
            source_table=r.file.table.label,
            status=r.status,
            rows_in_file=r.file.records,
            rows_loaded=r.rows_loaded,
            rows_quarantined=r.rows_quarantined,
            seconds=round(r.seconds, 3),
            message=r.message or None,
        )

    def finished(self, report: LoadReport) -> None:
        counts: dict[str, int] = {}
        for r in report.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        self.emit(
            "load_finished",
            "info" if report.ok else "error",
            batch_id=report.batch_id,
            target=report.target,
            ok=report.ok,
            files=counts,
            rows_loaded=sum(r.rows_loaded for r in report.results),
            rows_quarantined=sum(r.rows_quarantined for r in report.results),
            schema_drift=report.drift,
            seconds=round(report.seconds, 3),
        )

    def error(self, message: str) -> None:
        self.emit("load_error", "error", message=message)
