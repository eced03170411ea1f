"""The root Typer app: global options, command groups, and the one place errors become
a line on stderr."""

from __future__ import annotations

import errno
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from medtrack import __version__
from medtrack.cli import common
from medtrack.errors import MedtrackError

BUG_HINT = "this is a bug in medtrack; rerun with MEDTRACK_DEBUG=1 and report the traceback"


# Commands are built only when invoked: Typer turns every function signature into a
# click command when it builds a group, and doing that for every command on every run
# would double the start-up time of `take`, `remind` and shell completion.
# name -> (module, Typer app attribute, command inside that app or None for the group).
LAZY_COMMANDS: dict[str, tuple[str, str, str | None]] = {}


def _build_lazy(name: str) -> Any:
    import importlib

    from typer.main import get_command

    module_name, attribute, inner = LAZY_COMMANDS[name]
    sub_app = getattr(importlib.import_module(module_name), attribute)
    command = get_command(sub_app)
    if inner is not None and isinstance(command, TyperGroup):
        command = command.commands[inner]
    command.name = name
    _check_numbers(command)
    return command


def _check_numbers(command: Any) -> None:
    """Every whole-number and decimal option of `command` (and its subcommands) also
    refuses what the click parser reads but medtrack cannot keep: integers outside
    SQLite's 64-bit range, digits other than ASCII (int() reads '٣' and '１２'), and
    nan or infinity. Checked where the value enters, for every command at once."""
    for sub in getattr(command, "commands", {}).values():
        _check_numbers(sub)
    for param in command.params:
        # click's INT, FLOAT, IntRange and FloatRange share this base class.
        if any(cls.__name__ == "_NumberParamTypeBase" for cls in type(param.type).__mro__):
            param.type = _checked_number(param.type)


def _checked_number(number_type: Any) -> Any:
    import copy

    checked = copy.copy(number_type)
    convert = number_type.convert

    def convert_checked(value: Any, param: Any, ctx: Any) -> Any:
        result = convert(value, param, ctx)
        if not isinstance(value, str):
            return result  # a default of the command's own, not typed
        # Read only when a number is typed (`remind` with its defaults loads none of it).
        from medtrack.core.validate import number_problem

        problem = number_problem(value, result)
        if problem:
            checked.fail(problem, param, ctx)
        return result

    checked.convert = convert_checked
    return checked


class MedtrackGroup(TyperGroup):
    """Converts a MedtrackError into one line on stderr and its exit code, once, for
    every command; sqlite3 errors that escape a unit of work are named, not dumped.
    Builds each command lazily, from LAZY_COMMANDS, when it is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = _build_lazy(cmd_name)
            self.commands[cmd_name] = command
        return command

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: Any = None
    ) -> Any:
        # Typer registers its own completion classes while it builds the root command;
        # ours replace its bash class just before a completion is served.
        var = complete_var or f"_{prog_name}_COMPLETE".replace("-", "_").upper()
        if os.environ.get(var):
            from medtrack.cli.completion import register

            register()
        return super()._main_shell_completion(ctx_args, prog_name, complete_var)

    def make_context(self, info_name: Any, args: Any, parent: Any = None, **extra: Any) -> Any:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _click_exception() as exc:
            _quote_safely(exc)
            raise

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Every argument is checked once, here, before any command sees it: bytes that
        # were not UTF-8 (carried as lone surrogates) and control characters other than
        # newline and tab cannot be stored, shown or written to a crontab safely. The
        # check is read only for an argument with something unprintable in it (every
        # control character and lone surrogate is), so `take` starts as fast as before.
        for arg in args:
            if arg.isprintable():
                continue
            from medtrack.core.validate import argument

            try:
                argument(arg)
            except MedtrackError as exc:
                _fail(exc)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        import sqlite3

        try:
            return super().invoke(ctx)
        except MedtrackError as exc:
            _fail(exc)
        except OSError as exc:
            if os.environ.get("MEDTRACK_DEBUG") == "1":
                raise
            if exc.errno == errno.ENOSPC:
                # A disk that fills while a file is written: named, not a bug.
                from medtrack.errors import disk_full_message

                where = exc.filename or common.db_path().parent
                _fail(MedtrackError(disk_full_message(where, "nothing was written")))
            # A file named on the command line that the system refuses (a name too long,
            # a folder where a file belongs, no permission): the person's to fix, said in
            # one line. An OSError naming no file is a bug and keeps its traceback.
            if exc.filename is None:
                raise
            from medtrack.core.validate import shown

            reason = exc.strerror or type(exc).__name__
            _fail(MedtrackError(f"can't use {shown(str(exc.filename))}: {reason}"))
        except sqlite3.Error as exc:
            if os.environ.get("MEDTRACK_DEBUG") == "1":
                raise
            from medtrack.store.db import translate_sqlite_error

            _fail(translate_sqlite_error(exc, common.db_path()))
        except _click_exception() as exc:
            # Usage errors quote what was typed ("No such option: ..."); Typer prints them.
            _quote_safely(exc)
            raise


def error_line(message: str) -> None:
    """The one line on stderr for every error: what it quotes (a name, a path, a value
    typed or stored) is shown, never obeyed: no escape sequence reaches the terminal and
    a newline in it cannot start a second line."""
    from medtrack.render.escaping import error_text

    typer.echo(f"medtrack: {error_text(message)}", err=True)


def _click_exception() -> type[Exception]:
    """Click's ClickException as Typer uses it (Typer 0.28 vendors click as typer._click)."""
    from typer import core

    click = getattr(core, "_click", None)
    if click is None:  # a Typer that imports click itself
        import click
    return click.ClickException  # type: ignore[no-any-return]


def _quote_safely(exc: Any) -> None:
    from medtrack.render.escaping import error_text

    exc.message = error_text(exc.message)


def _fail(error: MedtrackError) -> Any:
    """Say `error` in its one line on stderr (`error_line`) and exit with its code."""
    error_line(error.message)
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
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database file to use; wins over --profile, MEDTRACK_DB and MEDTRACK_PROFILE.",
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Profile name, one file per person; wins over MEDTRACK_DB and MEDTRACK_PROFILE.",
        ),
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
    # The commands of every day say when the machine's zone is not medtrack's (once a
    # day, on stderr at a terminal, never with --json, whose readers parse what they get).
    common.OPTIONS.zone_notice = ctx.invoked_subcommand in ("today", "take", "remind")
    common.OPTIONS.pending_notice = None
    if common.OPTIONS.zone_notice:
        ctx.call_on_close(common.flush_zone_notice)
    if db is not None or profile is not None:
        # Refuse `--profile ""` or `--profile ../x` even for a command that opens nothing.
        common.db_path()


def _register() -> None:
    groups = {
        "med": "medtrack.cli.meds",
        "config": "medtrack.cli.settings",
        "cron": "medtrack.cli.reminders",
        "symptom": "medtrack.cli.health",
        "side-effect": "medtrack.cli.health",
        "measure": "medtrack.cli.health",
        "checkin": "medtrack.cli.health",
        "note": "medtrack.cli.health",
        "visit": "medtrack.cli.visits",
    }
    group_apps = {
        "cron": "cron_app",
        "symptom": "symptom_app",
        "side-effect": "side_effect_app",
        "measure": "measure_app",
        "checkin": "checkin_app",
        "note": "note_app",
    }
    for name, module in groups.items():
        LAZY_COMMANDS[name] = (module, group_apps.get(name, "app"), None)
    for verb in ("take", "skip", "undo", "today", "log"):
        LAZY_COMMANDS[verb] = ("medtrack.cli.doses", f"{verb}_app", verb)
    verbs = {
        "summary": ("medtrack.cli.reports", "app"),
        "report": ("medtrack.cli.report_cmd", "app"),
        "demo": ("medtrack.cli.demo", "app"),
        "remind": ("medtrack.cli.reminders", "remind_app"),
        "snooze": ("medtrack.cli.reminders", "snooze_app"),
        "export": ("medtrack.cli.data", "app"),
        "import": ("medtrack.cli.data", "app"),
        "backup": ("medtrack.cli.data", "app"),
        "restore": ("medtrack.cli.data", "app"),
        "check": ("medtrack.cli.data", "app"),
        "history": ("medtrack.cli.data", "app"),
        "status": ("medtrack.cli.status", "status_app"),
    }
    for verb, (module, attribute) in verbs.items():
        LAZY_COMMANDS[verb] = (module, attribute, verb)


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
        error_line(f"internal error: {type(exc).__name__}: {exc} ({BUG_HINT})")
        sys.exit(1)
    finally:
        # The process ends next. Its last garbage collection would walk every object the
        # command made or imported only to free memory the system takes back anyway
        # (measured whole-process: ~10 ms of `take` or `today`, ~14 ms of a PDF report).
        # Files and the database are closed by then (context managers); atexit handlers
        # and finalizers still run.
        import gc

        gc.freeze()
