"""The publisher's own records, kept by the store beside the versions (one owner for each):

- the **hold**: `elt rollback` holds analysts on a version until `elt release`; while held,
  publications are refused;
- the **attempts**: every night's outcome (published, blocked, held, failed) with its reasons,
  the diff summary and the gates' findings; the newest is what `elt status` and the page show;
- **current**: which version analysts read, since when and why (published, rolled back);
- **built**: what the last published night covered (its loads and project), so the next night
  builds only what new data reaches (``elt.scope``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import pwd
from typing import Any, Protocol

KEEP_ATTEMPTS = 90
PUBLISHED, BLOCKED, HELD, FAILED = "published", "blocked", "held", "failed"
NOTHING_NEW = "nothing new"  # no file arrived: nothing built, analysts keep their version


class StateStore(Protocol):
    def get_state(self, key: str) -> Any: ...

    def put_state(self, key: str, value: Any) -> None: ...


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def operator() -> str:
    """Who runs the command: ELT_OPERATOR, else the login name (containers and cron may have
    no USER), else the uid."""
    for name in ("ELT_OPERATOR", "USER", "LOGNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


@dataclasses.dataclass(frozen=True)
class Hold:
    version: int
    since: str
    by: str
    reason: str

    def describe(self) -> str:
        return f"held at v{self.version:06d} since {self.since} by {self.by}: {self.reason}"


@dataclasses.dataclass
class Attempt:
    at: str
    outcome: str  # published | blocked | held | failed | nothing new
    version: int | None  # the version analysts read after it
    invocation_id: str | None
    reasons: list[str]
    summary: str  # the diff's one line
    findings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    accepted: dict[str, Any] | None = None
    runbook: str = ""
    diff: dict[str, Any] | None = None  # Diff.as_json() of the candidate
    charts: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # gates.bands

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def held(store: StateStore) -> Hold | None:
    data = store.get_state("hold")
    return Hold(**data) if data else None


def hold(store: StateStore, version: int, reason: str) -> Hold:
    placed = Hold(version, now(), operator(), reason)
    store.put_state("hold", dataclasses.asdict(placed))
    return placed


def release(store: StateStore) -> Hold | None:
    was = held(store)
    store.put_state("hold", None)
    return was


def attempts(store: StateStore) -> list[Attempt]:
    return [Attempt.from_json(a) for a in store.get_state("attempts") or []]


def record(store: StateStore, attempt: Attempt) -> None:
    kept = (store.get_state("attempts") or [])[-(KEEP_ATTEMPTS - 1) :]
    store.put_state("attempts", [*kept, attempt.as_json()])


def mark_current(store: StateStore, version: int, how: str) -> None:
    store.put_state("current", {"version": version, "since": now(), "how": how, "by": operator()})


def current_since(store: StateStore) -> dict[str, Any] | None:
    data = store.get_state("current")
    return dict(data) if data else None


def built(store: StateStore) -> dict[str, Any] | None:
    """The mark of the last published night (``elt.scope.Mark`` as JSON), or None."""
    data = store.get_state("built")
    return dict(data) if data else None


def mark_built(store: StateStore, mark: dict[str, Any]) -> None:
    store.put_state("built", mark)
