"""Publication to analysts: publish an audited build, roll back and release, the versions,
the night's status and its diff, dropping a dev or ci environment."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from elt.cli.base import Context, UserError, context_options, main

if TYPE_CHECKING:
    from elt.loader.warehouse import ManifestEntry
    from elt.publish.run import MarkOfBuild
    from elt.publish.versions import Store
    from elt.scope import Scope


@contextlib.contextmanager
def version_store(ctx: Context) -> Iterator[Store]:
    """The target's published versions in the context's environment (the store closed at the
    end; a LoaderError inside ends the command with its message and exit code)."""
    from elt.publish.run import open_store

    store = open_store(ctx.target, ctx.env)
    try:
        yield store
    finally:
        store.close()


@main.command("publish")
@context_options()
@click.option(
    "--run-results",
    type=click.Path(path_type=Path),
    default=None,
    help="The build's run_results.json [default: DBT_TARGET_PATH or <project>/target].",
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    default=None,
    help="The build's manifest.json [default: beside the run results].",
)
@click.option(
    "--keep",
    type=click.IntRange(min=2),
    default=None,
    help="Versions to keep for rollback, the new one included [default: env ELT_PUBLISH_KEEP, "
    "else 3].",
)
@click.option(
    "--command",
    envvar="ELT_ALERT_COMMAND",
    default=None,
    help="Alert hook run when publication is blocked [env ELT_ALERT_COMMAND] (see elt alert).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    envvar="ELT_STATE_DIR",
    default=None,
    help="Also keep the published build's manifest as STATE_DIR/<env>/manifest.json, the state "
    "slim CI compares against (make ci-slim) [env ELT_STATE_DIR].",
)
@click.option(
    "--audited-by",
    default=None,
    metavar="RUN",
    help="The orchestrator audited the build node by node (Airflow runs this only when every "
    "dbt task passed): skip run_results.json, record RUN as the build's id.",
)
@click.option(
    "--accept",
    multiple=True,
    metavar="CHECK",
    help="Publish although this gate blocks (its name as printed, e.g. anomaly:fct_order_items."
    "net_revenue_usd, or a prefix such as anomaly:fct_order_items); recorded with the version "
    "and for this version only. Failed dbt tests cannot be accepted.",
)
@click.option(
    "--reason", default=None, help="Why the accepted checks are fine (required with --accept)."
)
@click.option(
    "--failed-step",
    default=None,
    metavar="TEXT",
    help="Record that the night stopped before publication (e.g. 'elt load failed (exit 1)'): "
    "analysts keep their version; exit 1.",
)
@click.option(
    "--build-exit-code",
    type=int,
    default=None,
    hidden=True,
    help="The exit code of the build before (make daily): a failed build whose results file "
    "still holds an earlier, passing build is a failure, never a publication.",
)
@click.option(
    "--scope",
    "with_scope",
    is_flag=True,
    help="Publish the night whose scope `elt scope` saved (the Airflow DAG does): once "
    "published, the next night builds only what files loaded after this one reach.",
)
def publish_cmd(ctx: Context, with_scope: bool, **options: Any) -> None:
    """Audit the last `dbt build` and publish it to analysts (write-audit-publish).

    The audit: every node of a full build passed; the diff of every mart against the version
    analysts read; the gates on its numbers (each new or changed day's totals against the
    published history, restated history, the volume of each source). A build that fails is
    not published: one line per reason and the runbook step, the alert hook runs, analysts
    keep their version, exit 1. While `elt rollback` holds analysts on a version, publication
    is refused. Published: the marts are copied into a new version and analysts switched to
    it at once (PostgreSQL: the views of <prefix>analytics in one transaction; DuckDB: the
    file published.duckdb replaced by a rename).
    """
    from elt.scope import SCOPE_FILE, Scope
    from elt.warehouse.spark_catalog import shared_session

    night = Scope.read(ctx.project.dbt_target_dir / SCOPE_FILE) if with_scope else None
    with shared_session():  # on Spark: the audit, the copy and the run history share one
        code = publish_step(ctx, night=night, **options)
    sys.exit(code)


def by_hand_mark(project_dir: Path) -> MarkOfBuild:
    """The scope's rule for the mark of a build published by hand."""
    from elt.scope import build_mark

    def mark_of(
        entries: list[ManifestEntry], last: dict[str, Any] | None, results: dict[str, Any]
    ) -> dict[str, Any]:
        return build_mark(entries, project_dir, results, last).as_json()

    return mark_of


def publish_step(
    ctx: Context,
    run_results: Path | None = None,
    manifest: Path | None = None,
    *,
    keep: int | None,
    command: str | None,
    state_dir: Path | None,
    audited_by: str | None = None,
    accept: tuple[str, ...] = (),
    reason: str | None = None,
    failed_step: str | None = None,
    build_exit_code: int | None = None,
    night: Scope | None = None,
) -> int:
    """`elt publish`, printed; its exit code (0 published or nothing new, 1 not). ``night`` is
    the scope of `elt daily`'s build: nothing new is recorded as such, a scoped build is
    audited against its selection, and its mark is kept once published. A build published
    by hand keeps the mark of what it covered (``elt.scope.build_mark``)."""
    from elt.alert import from_publication, notify
    from elt.publish.run import attempt, keep_state, record_failure, record_nothing_new

    keep = keep or ctx.publish_keep  # the environment's setting, read in one place
    results = run_results or ctx.project.dbt_target_dir / "run_results.json"
    manifest = manifest or results.with_name("manifest.json")
    with version_store(ctx) as store:
        if failed_step:
            outcome = record_failure(store, failed_step)
        elif night is not None and night.nothing_new:
            outcome = record_nothing_new(store, night.reason)
        else:
            outcome = attempt(
                store,
                ctx.env,
                ctx.project.dir,
                results,
                manifest,
                keep=keep,
                accept=list(accept),
                reason=reason,
                audited_by=audited_by,
                build_exit_code=build_exit_code,
                selection=night.selection() if night else (),
                excluded_types=night.excluded_types() if night else (),
                mark=night.mark.as_json() if night else None,
                # a complete build published by hand keeps the mark of what it covered
                mark_by_hand=None if night else by_hand_mark(ctx.project.dir),
                lake=ctx.lake,
            )
    for line in outcome.lines:
        click.echo(line, err=outcome.exit_code != 0)
    if outcome.exit_code != 0:
        if command and notify(from_publication(outcome.status, outcome.lines), command) != 0:
            click.echo("publish: the alert hook command failed", err=True)
        return outcome.exit_code
    if state_dir is not None and outcome.status == "published":
        keep_state(manifest, state_dir, ctx.env)
    return 0


@main.command("rollback")
@context_options()
@click.option(
    "--to",
    "number",
    type=int,
    default=None,
    help="Version number [default: the one before the current].",
)
@click.option(
    "--reason",
    default="rolled back",
    show_default=True,
    help="Why: shown with the hold by `elt status`, `elt publish` and the page.",
)
def rollback_cmd(
    ctx: Context,
    number: int | None,
    reason: str,
) -> None:
    """Switch analysts back to a kept version (the previous one by default), in one step, and
    hold them there: later publications are refused until `elt release`."""
    from elt.publish.run import roll_back

    with version_store(ctx) as store:
        began = time.monotonic()
        version, hold, laked = roll_back(store, number, reason, ctx.env, ctx.lake)
    click.echo(
        f"analysts now read {version.label} (built {version.built_at}, commit {version.git_commit}) "
        f"- switched in {time.monotonic() - began:.2f} s; {hold.describe()} "
        "(`elt release` lets the next night publish again)"
    )
    if laked:
        click.echo(f"warning: {laked}", err=True)


@main.command("release")
@context_options()
def release_cmd(ctx: Context) -> None:
    """End the hold `elt rollback` placed: the next `elt publish` may publish again, diffed
    against the version analysts read."""
    from elt.publish import control

    with version_store(ctx) as store:
        was = control.release(store)
    if was is None:
        click.echo("no hold: publications are not held")
    else:
        click.echo(
            f"released ({was.describe()}); the next publication is diffed against "
            f"v{was.version:06d}"
        )


@main.command("versions")
@context_options()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, rows per mart included.")
def versions_cmd(ctx: Context, as_json: bool) -> None:
    """List the kept published versions (* marks what analysts read now), each with its diff
    against the version before, its warnings and any acceptance."""
    from elt.publish.run import describe_version

    with version_store(ctx) as store:
        versions = store.versions()
    if as_json:
        click.echo(json.dumps([v.as_json() for v in versions], indent=2, default=str))
    elif not versions:
        click.echo("nothing published yet (`elt publish` after a passing `dbt build`)")
    else:
        for v in versions:
            click.echo(describe_version(v))


@main.command("status")
@context_options()
@click.option("--json", "as_json", is_flag=True, help="The status as one JSON document.")
@click.option(
    "--line", "one_line", is_flag=True, help="Only the one-line outcome (make daily's last line)."
)
def status_cmd(ctx: Context, as_json: bool, one_line: bool) -> None:
    """What analysts read and since when, the last night's outcome (published, blocked with
    its reasons, held, failed), its diff summary and the gates' findings."""
    from elt.publish.status import status

    with version_store(ctx) as store:
        st = status(store)
    if as_json:
        click.echo(json.dumps(st.as_json(), indent=2, default=str))
    elif one_line:
        click.echo(st.line())
    else:
        click.echo("\n".join(st.lines()))


def _version(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """A version number as `elt versions` prints it (v000012) or as a number (12)."""
    if value is None:
        return None
    digits = value.strip().lower().removeprefix("v")
    if not digits.isdigit():
        raise click.BadParameter(f"{value!r} is not a version (12 or v000012)")
    return int(digits)


@main.command("diff")
@context_options()
@click.option(
    "--version",
    "number",
    callback=_version,
    help="A kept version's recorded diff [default: the last attempt's].",
)
@click.option(
    "--from",
    "old",
    callback=_version,
    help="Compare two kept versions now: the older one (12 or v000012).",
)
@click.option("--to", "new", callback=_version, help="With --from: the newer [default: current].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["summary", "json", "markdown"]),
    default="summary",
    show_default=True,
)
def diff_cmd(ctx: Context, number: int | None, old: int | None, new: int | None, fmt: str) -> None:
    """The audit's diff: of a kept version against the one before it, or of the last
    candidate (published or not) against what analysts read; or (--from, --to) any two kept
    versions compared now, mart by mart, by each mart's key."""
    from elt.publish.status import stored_diff

    if old is None:
        if new is not None:
            raise UserError("--to needs --from (the older version)")
        with version_store(ctx) as store:
            found = stored_diff(store, number)
        if found is None:
            raise UserError("no diff recorded (`elt publish` records one with each attempt)", 1)
        click.echo(found.render(fmt))
        return
    from elt.publish.audit import read_artifact
    from elt.publish.compare import versions_diff

    manifest = read_artifact(ctx.project.dbt_target_dir / "manifest.json", "dbt manifest")
    with version_store(ctx) as store:
        if new is None:
            new = next((v.number for v in store.versions() if v.is_current), None)
            if new is None:
                raise UserError("nothing is published yet: no version to compare with")
        result, gone = versions_diff(store, manifest, old, new)
    if fmt == "json":
        click.echo(json.dumps({**result.as_json(), "to": new, "removed_marts": gone}, indent=2))
        return
    click.echo(f"v{new:06d} {result.summary()}")
    if fmt == "markdown":
        click.echo(result.markdown().rstrip())
    for name in gone:
        click.echo(f"{name}: in v{old:06d}, not in v{new:06d}")


@main.command("drop-environment")
@context_options()
def drop_environment_cmd(ctx: Context) -> None:
    """Drop every schema of the current dev or ci environment (ELT_ENV) and what it published;
    production is refused."""
    env = ctx.env
    if env.name == "prod":
        raise UserError("drop-environment refuses production (ELT_ENV=prod)", 2)
    with version_store(ctx) as store:
        dropped = store.drop()
    click.echo(f"dropped {len(dropped)} of {env.prefix}*: {', '.join(dropped) or 'nothing'}")
