"""A published version: what it holds and where it came from, and the stores that keep them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from elt.environment import Environment, git_commit
from elt.publish.audit import Audit
from elt.publish.diff import Warehouse

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa

    from elt.publish.trail import Figure

DEFAULT_KEEP = 3
# <prefix>publish.published_loads, in the build area: the last load each version held, so the
# next builds test every row loaded since the last publication (macros/utils/test_scope.sql)
PUBLISHED_LOADS_COLUMNS = "version integer not null, last_batch_id varchar, published_at timestamp with time zone not null"


@dataclasses.dataclass
class Version:
    number: int
    published_at: str  # UTC, ISO
    built_at: str  # when the build's dbt run finished (UTC, ISO)
    git_commit: str
    invocation_id: str  # dbt's, of the audited build
    environment: str
    rows: dict[str, int]  # mart -> rows
    tests: dict[str, int]  # test status -> count
    is_current: bool = False
    analyst_marts: list[str] = dataclasses.field(default_factory=list)  # granted to analysts
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # copy, switch
    # the audit it passed: the diff against the version before, the gates' findings, and an
    # acceptance (who, when, which checks, why) when it was published despite a block
    audit: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def accepted(self) -> dict[str, Any] | None:
        value = self.audit.get("accepted")
        return dict(value) if value else None

    @property
    def label(self) -> str:
        return f"v{self.number:06d}"

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Version:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def new_version(number: int, audit: Audit, env: Environment, project_dir: Path) -> Version:
    return Version(
        number=number,
        published_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        built_at=audit.built_at,
        git_commit=git_commit(project_dir),
        invocation_id=audit.invocation_id,
        environment=env.name,
        rows={},
        tests=audit.tests,
    )


def keep_from_env() -> int:
    value = os.environ.get("ELT_PUBLISH_KEEP", str(DEFAULT_KEEP))
    if not value.isdigit() or int(value) < 2:
        from elt.errors import LoaderError

        raise LoaderError(f"ELT_PUBLISH_KEEP must be a whole number of at least 2, got {value!r}")
    return int(value)


@dataclasses.dataclass
class Sides:
    """The two sides of the audit's diff in one warehouse: the build's marts and a version's."""

    warehouse: Warehouse
    candidate: Callable[[str], str]  # mart -> the build's relation
    published: Callable[[str], str | None]  # mart -> the version's relation (None: not in it)
    loads: str  # the loader's manifest (in the build)
    published_loads: str  # <prefix>publish.published_loads: the last load of each version


@dataclasses.dataclass
class Pair:
    """Two kept versions side by side in one warehouse (`elt diff`)."""

    warehouse: Warehouse
    old: dict[str, str]  # mart -> the older version's relation
    new: dict[str, str]  # mart -> the newer version's relation


class Store(Protocol):
    """Where versions live; each database has one (duckdb_store, postgres_store)."""

    def versions(self) -> list[Version]: ...

    def publish(self, audit: Audit, version: Version) -> Version: ...

    def switch(self, number: int) -> Version: ...

    def prune(self, keep: int, protect: frozenset[int] = frozenset()) -> list[int]: ...

    def sides(self, audit: Audit, against: Version | None) -> AbstractContextManager[Sides]: ...

    def version_pair(self, old: int, new: int) -> AbstractContextManager[Pair]: ...

    def append_trail(self, version: Version, figures: list[Figure]) -> int: ...

    def arrow(self, version: Version) -> Iterator[tuple[str, pa.Table]]: ...

    def get_state(self, key: str) -> Any: ...

    def put_state(self, key: str, value: Any) -> None: ...

    def drop(self) -> list[str]: ...

    def close(self) -> None: ...
