"""The ``elt`` group and what its commands share: errors as one line, the context options,
the consoles and the progress bar."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from elt.context import Context, resolve
from elt.environment import apply_settings

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 130)

Decorator = Callable[[Callable[..., None]], Callable[..., None]]


class UserError(click.ClickException):
    """A mistake the user can fix: one unwrapped line on stderr (``error: ...``; no markup,
    messages may hold brackets), no traceback, and an exit code an orchestrator can act on
    (2 usage or configuration, 3 transient: see elt/errors.py)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; each error here carries its own
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class Commands(click.Group):
    """The ``elt`` group: an error a command did not turn into a message is still one line.

    The project's own error types (a loader, profile or generator error) and the databases'
    errors for a missing, locked or unreachable warehouse are what the user can fix; anything
    else is a bug and keeps its traceback. Commands are listed in the order they were added
    (the order of a night), not alphabetically.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        import duckdb

        from elt.errors import LoaderError
        from elt.generator.config import ConfigError

        try:
            return super().invoke(ctx)
        except LoaderError as exc:
            raise UserError(str(exc), exc.exit_code) from exc
        except ConfigError as exc:
            raise UserError(str(exc)) from exc
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise UserError(f"DuckDB: {exc}", 3 if "lock" in str(exc).lower() else 2) from exc


@click.group(cls=Commands)
@click.version_option(package_name="elt-warehouse")
@click.pass_context
def main(click_ctx: click.Context) -> None:
    """The warehouse: load raw files, build and test with dbt, publish what passed its audit
    to analysts, and watch it (run from the project folder; `make help` lists the routine).

    Every command first loads the environment's settings (environments/<ELT_ENV>.env; a
    variable already set wins), as `elt dbt` does for dbt.
    """
    # before the command's options are parsed: their defaults may come from the settings
    click_ctx.obj = apply_settings(Path(os.environ.get("ELT_PROJECT_DIR", ".")), os.environ)


def options(*decorators: Decorator) -> Decorator:
    def apply(command: Callable[..., None]) -> Callable[..., None]:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


def context_options(default_target: str | None = None) -> Decorator:
    """--target, --project-dir, --profiles-dir, resolved into one ``Context`` (the command's
    first argument): the only place a command's target and environment are read."""

    def apply(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def with_context(
            target: str | None, project_dir: Path, profiles_dir: Path | None, **kwargs: Any
        ) -> None:
            command(resolve(project_dir, profiles_dir, target or default_target), **kwargs)

        return options(
            click.option(
                "--target",
                default=None,
                help="dbt target of profiles.yml [default: the profile's target, env ELT_TARGET].",
            ),
            click.option(
                "--project-dir",
                type=click.Path(path_type=Path),
                default=Path("."),
                show_default=True,
                help="The dbt project (its sources carry the loader settings).",
            ),
            click.option(
                "--profiles-dir",
                type=click.Path(path_type=Path),
                default=None,
                help="Folder of profiles.yml [env DBT_PROFILES_DIR, default the project].",
            ),
        )(with_context)

    return apply


def lock_timeout_option(help_text: str) -> Decorator:
    """--lock-timeout of the commands that open a warehouse another process may hold."""
    return click.option(
        "--lock-timeout", type=float, default=60.0, show_default=True, help=help_text
    )


DUCKDB_WAIT = "Seconds to wait while dbt or the loader holds a DuckDB warehouse."


def alert_after(ctx: Context, step: str, exit_code: int, run_results: Path | None = None) -> None:
    """A step's failures (and, with ELT_ALERT_ON_WARN, warnings) to the alert hook."""
    from elt.alert import after_step

    for line in after_step(step, exit_code, run_results, ctx.alert_command, ctx.alert_on_warn):
        click.echo(line, err=True)


@contextlib.contextmanager
def progress_bar(verb: str, quiet: bool) -> Iterator[Progress]:
    """A progress bar on stderr, only on a terminal: in a log (cron, a container) it is noise."""
    with Progress(
        TextColumn(f"[bold]{verb}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    ) as progress:
        yield progress


__all__ = ["Context", "UserError", "context_options", "err", "main", "out", "progress_bar"]
