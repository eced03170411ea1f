"""The root Typer app: global options, command groups, and the one place errors become
a line on stderr."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from medtrack import __version__
from medtrack.cli import common
from medtrack.errors import MedtrackError

BUG_HINT = "this is a bug in medtrack; rerun with MEDTRACK_DEBUG=1 and report the traceback"


class MedtrackGroup(TyperGroup):
    """Converts a MedtrackError into one line on stderr and its exit code, once, for
    every command; sqlite3 errors that escape a unit of work are named, not dumped."""

    def invoke(self, ctx: Any) -> Any:
        import sqlite3

        try:
            return super().invoke(ctx)
        except MedtrackError as exc:
            typer.echo(f"medtrack: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.Error as exc:
            if os.environ.get("MEDTRACK_DEBUG") == "1":
                raise
            from medtrack.store.db import translate_sqlite_error

            error = translate_sqlite_error(exc, common.db_path())
            typer.echo(f"medtrack: {error.message}", err=True)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=MedtrackGroup,
    name="medtrack",
    help="Track medication doses, side effects and symptoms locally; print a visit summary.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"medtrack {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database file to use (overrides profile; env MEDTRACK_DB)."),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Profile name, one file per person (env MEDTRACK_PROFILE)."),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Track medication doses, side effects and symptoms locally; print a visit summary.

    Example: medtrack med add sertraline --dose 50mg --schedule "daily 08:00"
    """
    common.OPTIONS.db = db
    common.OPTIONS.profile = profile


def _register() -> None:
    from medtrack.cli import meds, settings

    app.add_typer(meds.app, name="med")
    app.add_typer(settings.app, name="config")


_register()


def main() -> None:
    """Console-script entry: unexpected exceptions are bugs, named once, exit 1."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("MEDTRACK_DEBUG") == "1":
            raise
        typer.echo(f"medtrack: internal error: {type(exc).__name__}: {exc} ({BUG_HINT})", err=True)
        sys.exit(1)
