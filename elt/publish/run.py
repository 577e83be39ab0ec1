"""The commands: publish an audited build, switch back to a kept version, list versions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elt.environment import Environment
from elt.errors import LoaderError
from elt.publish import control
from elt.publish.audit import Audit
from elt.publish.review import RUNBOOK, Review, matching, review
from elt.publish.versions import Store, Version, new_version
from elt.warehouse.engines import analyst_role, choose
from elt.warehouse.profile import Target

if TYPE_CHECKING:
    from elt.loader.warehouse import ManifestEntry

# the mark of a build published by hand, from the loader's files, the last mark and the
# build's run results (the caller's rule: elt.scope.build_mark)
MarkOfBuild = Callable[
    ["list[ManifestEntry]", "dict[str, Any] | None", "dict[str, Any]"], "dict[str, Any]"
]


def open_store(target: Target, env: Environment) -> Store:
    """The target's published versions, in the environment's schemas or files."""

    def duckdb() -> Store:
        from elt.publish.duckdb_store import DuckDBStore

        return DuckDBStore(Path(str(target.settings.get("path"))), env)

    def postgres() -> Store:
        from elt.publish.postgres_store import PostgresStore
        from elt.warehouse.postgres import open_target

        return PostgresStore(open_target(target, "elt-publish"), env, analyst_role())

    def spark() -> Store:
        from elt.publish.spark_store import SparkStore
        from elt.warehouse.spark_catalog import open_catalog, spark_dir

        return SparkStore(lambda: open_catalog(target.settings, work=True), env, spark_dir())

    return choose(target, {"duckdb": duckdb, "postgres": postgres, "spark": spark}, "publication")


def previous(versions: list[Version]) -> Version | None:
    """The newest version older than the current one."""
    now = next((v.number for v in versions if v.is_current), None)
    older = [v for v in versions if now is not None and v.number < now]
    return older[-1] if older else None


def describe_version(v: Version) -> str:
    tests = ", ".join(f"{n} {s}" for s, n in sorted(v.tests.items())) or "no tests"
    line = (
        f"{'*' if v.is_current else ' '} {v.label}  published {v.published_at}  built {v.built_at}  "
        f"commit {v.git_commit}  {sum(v.rows.values()):,} rows in {len(v.rows)} marts  tests: {tests}"
    )
    if v.audit.get("summary"):
        line += f"\n    diff {v.audit['summary']}"
    warned = [f for f in v.audit.get("findings", []) if f.get("severity") != "block"]
    if warned:
        line += f"\n    {len(warned)} warning(s): " + "; ".join(
            sorted({f["check"] for f in warned})
        )
    accepted = v.accepted
    if accepted:
        line += (
            f"\n    accepted by {accepted['by']} at {accepted['at']}: "
            f"{', '.join(accepted['checks'])} - {accepted['reason']}"
        )
    return line


class NothingToRollBack(LoaderError):
    """Not a usage error: the state of the versions says no (exit 1)."""

    exit_code = 1


@dataclasses.dataclass
class Outcome:
    """What one `elt publish` did: the night's outcome, recorded and printed."""

    status: str  # published | blocked | held | failed | nothing new
    version: Version | None  # what analysts read afterwards
    review: Review | None
    lines: list[str]  # what the command prints, the reasons one per line
    pruned: list[int] = dataclasses.field(default_factory=list)
    already: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.status in (control.PUBLISHED, control.NOTHING_NEW) else 1


def _reads(live: Version | None, store: Store) -> str:
    if live is None:
        return "nothing is published yet"
    since = control.current_since(store)
    when = since["since"] if since and since.get("version") == live.number else live.published_at
    return f"analysts keep {live.label} (since {when}, built {live.built_at})"


def last_known_good(versions: list[Version]) -> Version | None:
    """The newest version published without an acceptance."""
    good = [v for v in versions if not v.accepted]
    return good[-1] if good else None


def publish_night(
    store: Store,
    audit: Audit,
    manifest_path: Path,
    env: Environment,
    project_dir: Path,
    keep: int,
    accept: list[str] | None = None,
    reason: str | None = None,
    mark: dict[str, Any] | None = None,
    lake: Path | None = None,
) -> Outcome:
    """The audit (dbt's results, the diff against what analysts read, the gates), then
    publication, a block with its reasons, or a refusal while a hold stands; recorded with
    the version and in the attempts `elt status` shows."""
    accept = accept or []
    if accept and not (reason or "").strip():
        raise LoaderError("--accept needs --reason: say why the blocked checks are fine")
    live = next((v for v in store.versions() if v.is_current), None)
    hold = control.held(store)
    rv = review(store, audit, manifest_path, live)
    attempt = control.Attempt(
        at=control.now(),
        outcome="",
        version=live.number if live else None,
        invocation_id=audit.invocation_id,
        reasons=[],
        summary=rv.summary(),
        findings=[f.as_json() for f in rv.findings],
        runbook=RUNBOOK,
        diff=rv.diff.as_json() if rv.diff else None,
        charts=rv.charts_json(),
    )
    if hold is not None:
        attempt.outcome = control.HELD
        attempt.reasons = [hold.describe(), *rv.reasons()]
        control.record(store, attempt)
        lines = [
            f"publication refused: {hold.describe()}; {_reads(live, store)}",
            f"  the candidate: {rv.summary()}",
            *(f"  - {r}" for r in rv.reasons()),
            f"  `elt release` ends the hold; the next publication is then diffed against "
            f"v{hold.version:06d} ({RUNBOOK})",
        ]
        return Outcome(control.HELD, live, rv, lines)
    covered = matching(accept, rv.findings)
    unknown = [c for c, found in covered.items() if not found]
    if unknown:
        blocking = sorted({f.check for f in rv.blocks}) or ["none"]
        raise LoaderError(
            f"--accept {', '.join(unknown)}: no blocking check of this candidate has that name "
            f"(blocking: {', '.join(blocking)})"
        )
    accepted = frozenset(c for found in covered.values() for c in found)
    reasons = rv.reasons(accepted)
    if reasons:
        attempt.outcome = control.BLOCKED
        attempt.reasons = reasons
        control.record(store, attempt)
        lines = [
            f"publication blocked ({len(reasons)} reason{'s' if len(reasons) > 1 else ''}); "
            f"{_reads(live, store)}",
            *(f"  - {r}" for r in reasons),
            f"  the candidate: {rv.summary()}",
            f"  runbook ({RUNBOOK}): fix the data or the code and rerun the night, or publish "
            "anyway with `elt publish --accept CHECK --reason '...'` (CHECK as above, before "
            "the colon)",
        ]
        return Outcome(control.BLOCKED, live, rv, lines)
    version = new_version(0, audit, env, project_dir)
    version.audit = rv.as_json()
    if accepted:
        version.audit["accepted"] = {
            "by": control.operator(),
            "at": control.now(),
            "checks": sorted(accepted),
            "reason": reason,
        }
    already = any(v.invocation_id == audit.invocation_id and v.is_current for v in store.versions())
    version = store.publish(audit, version)
    control.mark_current(store, version.number, "published")
    if mark is not None:
        control.mark_built(store, mark)
    kept = store.versions()
    protect = {v.number for v in (last_known_good(kept),) if v is not None}
    pruned = store.prune(keep, frozenset(protect))
    trailed = _append_trail(store, version, rv) if not already else None
    laked = to_lake(store, lake, env, version, "publish") if not already else None
    attempt.outcome = control.PUBLISHED
    attempt.version = version.number
    attempt.accepted = version.audit.get("accepted")
    control.record(store, attempt)
    took = ", ".join(f"{k} {v:.2f} s" for k, v in version.seconds.items())
    lines = [
        f"published {version.label}: {sum(version.rows.values()):,} rows in {len(version.rows)} marts"
        + (" (this build was published already)" if already else f" ({took})")
        + (f"; dropped {', '.join(f'v{n:06d}' for n in pruned)}" if pruned else ""),
        f"  {rv.summary()}",
        *(f"  warning {f.check}: {f.message}" for f in rv.warnings),
    ]
    for warning in (trailed, laked):
        if warning:
            lines.append(f"  warning: {warning}")
    if audit.unchanged:
        lines.append(
            f"  {audit.unchanged} nodes no new data reaches stand as the last published night built them"
        )
    if accepted:
        lines.append(
            f"  accepted by {version.audit['accepted']['by']}: {', '.join(sorted(accepted))} "
            f"- {reason}"
        )
    return Outcome(control.PUBLISHED, version, rv, lines, pruned, already)


def to_lake(
    store: Store, lake: Path | None, env: Environment, version: Version, operation: str
) -> str | None:
    """What analysts now read, as a new Delta version of every mart (elt.publish.delta), the
    files of pruned versions vacuumed; why not, or None. ``lake`` None: Delta is off."""
    if lake is None:
        return None
    from elt.publish import delta

    try:
        delta.write(lake, env, version, store.arrow(version), operation)
        delta.vacuum(lake, env, store.versions())
    except LoaderError as exc:
        return f"the Delta tables miss {version.label} (the next publication writes them): {exc}"
    return None


def _append_trail(store: Store, version: Version, rv: Review) -> str | None:
    """The publication's figures into the audit trail (elt.publish.trail); why not, or None.
    A failure does not undo the publication: the next one records every figure that
    differs from the trail's latest, so the trail catches up."""
    from elt.publish.trail import candidate_figures

    if rv.diff is None:
        return f"the audit trail misses {version.label}: the audit computed no figures"
    try:
        store.append_trail(version, candidate_figures(rv.diff))
    except LoaderError as exc:
        return f"the audit trail misses {version.label} (the next publication catches up): {exc}"
    return None


def record_failure(store: Store, step: str) -> Outcome:
    """A night that stopped before publication (the load failed): recorded, analysts keep
    what they read."""
    live = next((v for v in store.versions() if v.is_current), None)
    attempt = control.Attempt(
        at=control.now(),
        outcome=control.FAILED,
        version=live.number if live else None,
        invocation_id=None,
        reasons=[step],
        summary="no candidate",
        runbook=RUNBOOK,
    )
    control.record(store, attempt)
    return Outcome(
        control.FAILED, live, None, [f"not published: {step}; {_reads(live, store)} ({RUNBOOK})"]
    )


def record_nothing_new(store: Store, reason: str) -> Outcome:
    """A night that found no new file and built nothing: recorded, analysts keep what they
    read (the night's success: nothing is wrong)."""
    live = next((v for v in store.versions() if v.is_current), None)
    attempt = control.Attempt(
        at=control.now(),
        outcome=control.NOTHING_NEW,
        version=live.number if live else None,
        invocation_id=None,
        reasons=[reason],
        summary="no candidate: nothing was built",
    )
    control.record(store, attempt)
    return Outcome(
        control.NOTHING_NEW, live, None, [f"nothing new: {reason}; {_reads(live, store)}"]
    )


def roll_back(
    store: Store,
    number: int | None,
    reason: str,
    env: Environment | None = None,
    lake: Path | None = None,
) -> tuple[Version, control.Hold, str | None]:
    """Switch analysts to a kept version (the one before the current by default) and hold
    them there: later publications are refused until `elt release`. With a ``lake``, the
    Delta tables follow (a new Delta version of what analysts now read); the third value is
    why they could not, or None."""
    if number is None:
        before = previous(store.versions())
        if before is None:
            raise NothingToRollBack(
                "no earlier version is kept: nothing to roll back to (`elt versions`)"
            )
        number = before.number
    kept = store.versions()
    if not any(v.number == number for v in kept):
        listed = ", ".join(f"{v.number}{' (current)' if v.is_current else ''}" for v in kept)
        raise LoaderError(
            f"version {number} is not kept; kept: {listed or 'none'} (`elt versions` describes them)"
        )
    version = store.switch(number)
    control.mark_current(store, version.number, "rolled back")
    placed = control.hold(store, version.number, reason)
    laked = to_lake(store, lake, env, version, "rollback") if env is not None else None
    return version, placed, laked


def attempt(
    store: Store,
    env: Environment,
    project_dir: Path,
    run_results: Path,
    manifest: Path,
    *,
    keep: int,
    accept: list[str],
    reason: str | None,
    audited_by: str | None = None,
    build_exit_code: int | None = None,
    selection: tuple[str, ...] = (),
    excluded_types: tuple[str, ...] = (),
    mark: dict[str, Any] | None = None,
    mark_by_hand: MarkOfBuild | None = None,
    lake: Path | None = None,
) -> Outcome:
    """`elt publish` after a build: audit it (or take the orchestrator's word, ``audited_by``),
    then publish it or record why not. A failed build whose results file still holds an
    earlier, passing build is a failure, never a publication. A scoped night passes its
    ``selection`` (the audit's) and its ``mark`` (recorded once published: ``elt.scope``)."""
    from elt.publish import audit as auditing

    checked = (
        auditing.audited_by(audited_by, manifest)
        if audited_by
        else auditing.audit(run_results, manifest, selection, excluded_types)
    )
    if build_exit_code and checked.passed:
        return record_failure(
            store, f"dbt build failed (exit {build_exit_code}) before writing results of its own"
        )
    if mark is None and mark_by_hand and checked.passed and not audited_by:
        mark = hand_mark(store, checked, run_results, mark_by_hand)
    return publish_night(
        store, checked, manifest, env, project_dir, keep, accept, reason, mark, lake
    )


def hand_mark(
    store: Store, checked: Audit, run_results: Path, mark_of: MarkOfBuild
) -> dict[str, Any]:
    """The mark of a complete build published by hand (`elt build`, then `elt publish`): the
    loads it covered, read from the loader's manifest as the publisher sees it, so the next
    night's scope starts there. ``mark_of`` makes it from the files, the last mark and the
    run results (the scope's rule: ``elt.scope.build_mark``)."""
    from elt.loader.warehouse import MANIFEST_SELECT, manifest_entries

    with store.sides(checked, None) as sides:
        entries = manifest_entries(sides.warehouse.query(MANIFEST_SELECT.format(table=sides.loads)))
    results = json.loads(run_results.read_text())
    return mark_of(list(entries.values()), control.built(store), results)


def keep_state(manifest: Path, state_dir: Path, env: Environment) -> Path:
    """The published build's manifest as ``<state_dir>/<env>/manifest.json``: the state slim CI
    compares against. Replaced atomically."""
    kept = state_dir / env.name / "manifest.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name("manifest.json.partial")
    partial.write_bytes(manifest.read_bytes())
    partial.replace(kept)
    return kept
