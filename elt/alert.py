"""Turn a failed pipeline step or a failing dbt test into a notification.

``elt alert`` reads dbt's ``run_results.json`` after a step, summarises what failed (errors)
and what warned, prints the summary, and when there is something to report runs the command
in ``ELT_ALERT_COMMAND`` (or ``--command``) through the shell with the summary as JSON on its
stdin: ``curl -d @- $WEBHOOK``, ``mail -s ...``, a script of yours. It exits with the step's
own exit code, so wrapping a step in it never hides a failure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

ERROR_STATUSES = {"error", "fail", "runtime error"}
WARN_STATUSES = {"warn"}


@dataclasses.dataclass
class Summary:
    step: str
    exit_code: int
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    invocation_id: str | None = None

    @property
    def status(self) -> str:
        if self.exit_code != 0 or self.errors:
            return "failed"
        return "warned" if self.warnings else "ok"

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": "elt-warehouse",
            "step": self.step,
            "status": self.status,
            "exit_code": self.exit_code,
            "errors": self.errors,
            "warnings": self.warnings,
            "dbt_invocation_id": self.invocation_id,
            "alerted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def headline(self) -> str:
        parts = [f"{self.step}: {self.status} (exit code {self.exit_code})"]
        if self.errors:
            parts.append(
                f"{len(self.errors)} error(s): " + ", ".join(e["name"] for e in self.errors[:5])
            )
        if self.warnings:
            parts.append(
                f"{len(self.warnings)} warning(s): "
                + ", ".join(w["name"] for w in self.warnings[:5])
            )
        return "; ".join(parts)


def node_name(unique_id: str) -> str:
    """``test.pkg.not_null_x.1a2b3c4d5e`` -> ``not_null_x``; ``model.pkg.dim_date`` -> ``dim_date``."""
    parts = unique_id.split(".")[2:] or [unique_id]
    if (
        unique_id.startswith("test.")
        and len(parts) > 1
        and re.fullmatch(r"[0-9a-f]{10}", parts[-1])
    ):
        parts = parts[:-1]
    return ".".join(parts)


def summarise(step: str, exit_code: int, run_results: Path | None) -> Summary:
    """What failed and what warned in a dbt invocation (nothing when there are no results)."""
    summary = Summary(step, exit_code, [], [])
    if run_results is None or not run_results.is_file():
        return summary
    data = json.loads(run_results.read_text())
    summary.invocation_id = data.get("metadata", {}).get("invocation_id")
    for r in data.get("results", []):
        status = str(r.get("status", "")).lower()
        item = {
            "unique_id": r.get("unique_id"),
            "name": node_name(str(r.get("unique_id", ""))),
            "status": status,
            "failures": r.get("failures"),
            "message": r.get("message"),
        }
        if status in ERROR_STATUSES:
            summary.errors.append(item)
        elif status in WARN_STATUSES:
            summary.warnings.append(item)
    return summary


def should_alert(summary: Summary, on_warn: bool) -> bool:
    return summary.status == "failed" or (on_warn and summary.status == "warned")


def notify(summary: Summary, command: str) -> int:
    """Run the hook with the summary on stdin; its exit code (a failing hook is reported)."""
    result = subprocess.run(
        command,
        shell=True,
        input=json.dumps(summary.as_json(), indent=2),
        text=True,
        check=False,
        env={
            **os.environ,
            "ELT_ALERT_STATUS": summary.status,
            "ELT_ALERT_HEADLINE": summary.headline(),
        },
        timeout=120,
    )
    return result.returncode


def from_publication(status: str, lines: list[str]) -> Summary:
    """A publication that did not publish (blocked, held, failed), as an alert: one entry per
    reason it printed."""
    reasons = lines[1:] if len(lines) > 1 else lines
    entries = [{"name": r.strip(" -"), "status": status, "message": r.strip(" -")} for r in reasons]
    return Summary("elt publish", 1, entries, [], None)


def after_step(
    step: str, exit_code: int, run_results: Path | None, command: str | None, on_warn: bool
) -> list[str]:
    """What a step's end says (its failures, a hook that failed), after running the alert hook
    when there is something to report. Never raises: an unreadable results file is reported
    and the step counts as failed."""
    lines: list[str] = []
    try:
        summary = summarise(step, exit_code, run_results)
    except (OSError, ValueError) as exc:
        lines.append(f"alert: cannot read {run_results}: {exc}")
        summary = summarise(step, exit_code or 1, None)
    if summary.status != "ok":
        lines.append(f"alert: {summary.headline()}")
    if should_alert(summary, on_warn) and command:
        hook = notify(summary, command)
        if hook != 0:
            lines.append(f"alert: the hook command exited with {hook}")
    return lines
