"""What `elt status`, `elt diff` and the page's banner say: the version analysts read and
since when, the last night's outcome with its reasons, the diff and the gates' findings."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from elt.publish import control
from elt.publish.diff import markdown_of
from elt.publish.versions import Store, Version


@dataclasses.dataclass
class Status:
    current: Version | None
    since: str | None  # when analysts started reading it
    how: str  # published | rolled back
    hold: control.Hold | None
    last: control.Attempt | None  # the newest attempt (a night's outcome)
    versions: list[Version]

    def reading(self) -> str:
        if self.current is None:
            return "analysts read nothing yet (nothing published)"
        return (
            f"analysts read {self.current.label} since {self.since} ({self.how}; built "
            f"{self.current.built_at}, commit {self.current.git_commit})"
        )

    def line(self) -> str:
        """One line: the last night's outcome and what analysts read."""
        if self.last is None:
            return f"outcome: no publication attempted yet; {self.reading()}"
        last = self.last
        if last.outcome == control.PUBLISHED:
            head = f"outcome: published v{last.version:06d} at {last.at}"
            if last.accepted:
                head += (
                    f" (accepted by {last.accepted['by']}: {', '.join(last.accepted['checks'])})"
                )
        elif last.outcome in (control.HELD, control.NOTHING_NEW):
            head = f"outcome: {last.outcome} at {last.at} - {last.reasons[0]}"
        else:
            n = len(last.reasons)
            head = (
                f"outcome: {last.outcome} at {last.at} ({n} reason{'s' if n != 1 else ''}: "
                f"{last.reasons[0] if last.reasons else '?'}{' ...' if n > 1 else ''})"
            )
        return f"{head}; {self.reading()}"

    def lines(self) -> list[str]:
        out = [self.reading()]
        if self.hold:
            out.append(self.hold.describe() + " (`elt release` ends it)")
        if self.last is None:
            out.append("last night: no publication attempted yet")
            return out
        last = self.last
        out.append(f"last night ({last.at}): {last.outcome}")
        out += [f"  - {r}" for r in last.reasons]
        out.append(f"  diff: {last.summary}")
        warnings = [f for f in last.findings if f.get("severity") != "block"]
        out += [f"  warning {f['check']}: {f['message']}" for f in warnings]
        if last.accepted:
            a = last.accepted
            out.append(
                f"  accepted by {a['by']} at {a['at']}: {', '.join(a['checks'])} - {a['reason']}"
            )
        if last.outcome not in (control.PUBLISHED, control.NOTHING_NEW):
            out.append(f"  runbook: {last.runbook}")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "current": self.current.as_json() if self.current else None,
            "since": self.since,
            "how": self.how,
            "hold": dataclasses.asdict(self.hold) if self.hold else None,
            "last": self.last.as_json() if self.last else None,
            "line": self.line(),
        }


def status(store: Store) -> Status:
    versions = store.versions()
    live = next((v for v in versions if v.is_current), None)
    since = control.current_since(store)
    matches = since is not None and live is not None and since.get("version") == live.number
    attempts = control.attempts(store)
    return Status(
        current=live,
        since=(since or {}).get("since") if matches else (live.published_at if live else None),
        how=(since or {}).get("how", "published") if matches else "published",
        hold=control.held(store),
        last=attempts[-1] if attempts else None,
        versions=versions,
    )


@dataclasses.dataclass
class StoredDiff:
    label: str
    diff: dict[str, Any]
    findings: list[dict[str, Any]]
    summary: str

    def render(self, fmt: str) -> str:
        if fmt == "json":
            return json.dumps(
                {"of": self.label, "diff": self.diff, "findings": self.findings},
                indent=2,
                default=str,
            )
        if fmt == "markdown":
            found = "".join(
                f"- **{f['severity']}** `{f['check']}`: {f['message']}\n" for f in self.findings
            )
            return (
                f"## {self.label}\n\n{self.summary}\n\n"
                + markdown_of(self.diff)
                + (f"\n### Findings\n\n{found}" if found else "")
            )
        lines = [f"{self.label}: {self.summary}"]
        lines += [f"  {f['severity']} {f['check']}: {f['message']}" for f in self.findings]
        return "\n".join(lines)


def stored_diff(store: Store, number: int | None) -> StoredDiff | None:
    if number is not None:
        version = next((v for v in store.versions() if v.number == number), None)
        if version is None or not version.audit.get("diff"):
            return None
        a = version.audit
        return StoredDiff(version.label, a["diff"], a.get("findings", []), a.get("summary", ""))
    attempts = control.attempts(store)
    last = next((a for a in reversed(attempts) if a.diff), None)
    if last is None:
        return None
    return StoredDiff(
        f"the {last.outcome} candidate of {last.at}", last.diff or {}, last.findings, last.summary
    )
