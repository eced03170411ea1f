"""Where reminders go: stdout, a desktop notification, any Apprise URL, or a program.

A back end that fails never loses a reminder: `deliver` prints it on stdout instead
(cron mails stdout) and says on stderr why; such a print is not a delivery, so the
reminder is not counted as sent and the next run tries the back end again. Apprise is
an optional dependency (`pip install 'medtrack[notify]'`), imported only when an
`apprise:` target is used.

Under cron the environment is nearly empty: the desktop back end finds the session
bus itself (`session_bus_address`), and `scheduler_setup` checks a target before
`cron install` writes it, so a line that can never deliver is refused up front.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from medtrack.errors import UsageError
from medtrack.render.escaping import visible

TITLE = "medtrack"
TARGET_FORMS = (
    'stdout, desktop, "ntfy:https://HOST/TOPIC", "apprise:URL" or "exec:/path/to/program"'
)
SEND_TIMEOUT_SECONDS = 20


class NotifyFailed(Exception):
    """A back end could not deliver; the message says why, in words for stderr."""


class Target(NamedTuple):
    """A parsed `--notify` value: `kind` is stdout, desktop, ntfy, apprise or exec; an
    ntfy target carries the access token read from its file (`medtrack.ntfy`)."""

    kind: str
    value: str | None = None
    token: str | None = None

    @property
    def label(self) -> str:
        """How the target is named in messages, without any secret an URL may carry."""
        if self.kind == "apprise" and self.value:
            from urllib.parse import urlsplit

            parts = urlsplit(self.value)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            return f"Apprise target {parts.scheme}://{host}{port}"
        if self.kind == "exec":
            return f"program {self.value}"
        if self.kind == "ntfy" and self.value:
            from medtrack.ntfy import parse_url

            return parse_url(self.value).label
        return {"stdout": "stdout", "desktop": "desktop notification"}[self.kind]


def has_control(text: str) -> bool:
    """Whether `text` holds a character no command line, crontab line or unit file can
    carry: a control character, a line or paragraph separator, or an undecodable byte
    (a lone surrogate from a non-UTF-8 path)."""
    import unicodedata

    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") for c in text)


def parse_target(text: str) -> Target:
    """Read `--notify`: ``stdout``, ``desktop``, ``ntfy:URL``, ``apprise:URL`` or
    ``exec:PROGRAM``."""
    if has_control(text):
        # A newline here would split a crontab line in two (issue 17): never a target.
        raise UsageError(
            f"--notify '{visible(text)}' holds a newline or control character: use {TARGET_FORMS}"
        )
    cleaned = text.strip()
    if cleaned in ("stdout", "desktop"):
        return Target(cleaned)
    kind, sep, value = cleaned.partition(":")
    if sep and kind == "ntfy":
        from medtrack.ntfy import parse_url

        try:
            parse_url(value)
        except ValueError as exc:
            raise UsageError(f"--notify '{text}': ntfy {exc}") from None
        return Target(kind, value.strip())
    if sep and kind in ("apprise", "exec") and value.strip():
        return Target(kind, value.strip())
    raise UsageError(f"--notify '{text}' is not a target: use {TARGET_FORMS}")


def send(target: Target, message: str, actions: list[dict[str, Any]] | None = None) -> None:
    """Deliver one message through `target`, or raise NotifyFailed. `actions` are ntfy
    action buttons; other back ends have none."""
    import shutil

    if target.kind == "stdout":
        raise AssertionError("stdout is printed by deliver, not sent")
    if target.kind == "desktop":
        program = shutil.which("notify-send")
        if program is None:
            raise NotifyFailed("notify-send is not installed")
        address = session_bus_address(os.environ)
        if address is None:
            raise NotifyFailed(MISSING_BUS)
        env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address}
        from medtrack.render.escaping import notification_body

        # The body is rendered as markup by notification servers: stored text is escaped.
        # `--` ends the options, so a reminder starting with '-' is never read as one.
        body = notification_body(message)
        _run([program, "--app-name=medtrack", "--", TITLE, body], "notify-send", env=env)
    elif target.kind == "exec":
        assert target.value is not None
        program = shutil.which(target.value) if "/" not in target.value else target.value
        if program is None:
            raise NotifyFailed(f"{target.value} is not a program on PATH")
        # No shell: the message is one argument whatever characters it holds.
        _run([program, message], target.value)
    elif target.kind == "ntfy":
        assert target.value is not None
        from medtrack import ntfy

        try:
            ntfy.publish(ntfy.parse_url(target.value), message, actions=actions, token=target.token)
        except ntfy.NtfyFailed as exc:
            raise NotifyFailed(str(exc)) from None
    elif target.kind == "apprise":
        assert target.value is not None
        _send_apprise(target.value, message)
    else:
        raise AssertionError(f"unknown notify target {target.kind}")


def _run(argv: list[str], name: str, env: Mapping[str, str] | None = None) -> None:
    import subprocess

    try:
        result = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SEND_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise NotifyFailed(f"{name} did not finish within {SEND_TIMEOUT_SECONDS} s") from None
    except OSError as exc:
        raise NotifyFailed(f"can't run {name}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()
        why = f": {detail[-1]}" if detail else ""
        raise NotifyFailed(f"{name} exited with status {result.returncode}{why}")


def _send_apprise(url: str, message: str) -> None:
    import logging

    try:
        import apprise
    except ImportError:
        raise NotifyFailed(
            "Apprise is not installed; install it with: pip install 'medtrack[notify]'"
        ) from None
    # Apprise logs its own warnings; without a handler Python would print them raw on
    # stderr next to ours. Our one line says what failed.
    logging.getLogger("apprise").addHandler(logging.NullHandler())
    logging.getLogger("apprise").propagate = False
    notifier = _apprise_notifier(apprise, url)
    try:
        delivered = notifier.notify(body=message, title=TITLE)
    except Exception as exc:
        # Apprise's plugins can raise on odd URLs instead of returning False; whatever it
        # is, the reminder must still be printed, so it is a failed delivery (named).
        raise NotifyFailed(f"Apprise failed ({type(exc).__name__})") from None
    if not delivered:
        raise NotifyFailed("Apprise could not deliver (target unreachable or refused)")


def _apprise_notifier(apprise: Any, url: str) -> Any:
    notifier = apprise.Apprise()
    try:
        added = notifier.add(url)
    except Exception as exc:
        # As above: a plugin that raises on a malformed URL is a URL Apprise can't use.
        raise NotifyFailed(f"Apprise does not recognise the URL ({type(exc).__name__})") from None
    if not added:
        raise NotifyFailed("Apprise does not recognise the URL")
    return notifier


def deliver(
    target: Target,
    messages: Sequence[str],
    *,
    out: Callable[[str], None],
    err: Callable[[str], None],
    actions: Sequence[list[dict[str, Any]] | None] | None = None,
) -> list[str | None]:
    """Send each message; return, for each, the back end that delivered it, or None
    where it was only printed because the back end failed.

    With the stdout target printing is the delivery. After the first failure the back
    end is not tried again this run (one timeout, not one per reminder): the rest are
    printed as well.
    """
    channels: list[str | None] = []
    failed = False
    for index, message in enumerate(messages):
        if target.kind == "stdout":
            out(message)
            channels.append("stdout")
            continue
        if not failed:
            try:
                send(target, message, actions[index] if actions else None)
                channels.append(target.kind)
                continue
            except NotifyFailed as exc:
                failed = True
                err(f"medtrack: {target.label} failed ({exc}); printing reminders instead")
        out(message)
        channels.append(None)
    return channels


# --- the session bus, for notify-send under cron -----------------------------------------

MISSING_BUS = (
    "no session bus: DBUS_SESSION_BUS_ADDRESS is not set and no $XDG_RUNTIME_DIR/bus "
    "(or /run/user/UID/bus) exists; is your desktop session running?"
)


# Where systemd-logind keeps each user's runtime folder (a module value so tests can
# point it at a folder of their own).
USER_RUNTIME_DIR = "/run/user/{uid}"


def session_bus_address(environ: Mapping[str, str]) -> str | None:
    """The D-Bus session bus notify-send must reach: the environment's own address, else
    the per-user socket systemd-logind sessions keep at $XDG_RUNTIME_DIR/bus (cron passes
    neither variable, so /run/user/<uid>/bus is looked at too)."""
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    socket = runtime_bus_socket(environ)
    return None if socket is None else f"unix:path={socket}"


def runtime_bus_socket(environ: Mapping[str, str]) -> str | None:
    """The session bus socket in the user's runtime folder, if there is one."""
    import stat

    folders = [environ.get("XDG_RUNTIME_DIR") or "", USER_RUNTIME_DIR.format(uid=os.getuid())]
    for folder in folders:
        if not folder:
            continue
        path = os.path.join(folder, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    return None


class SchedulerSetup(NamedTuple):
    """A target checked for running under cron or systemd: the `--notify` text to write
    (an `exec:` program made absolute) and the environment it needs there."""

    notify: str
    env: dict[str, str]


def scheduler_setup(text: str, environ: Mapping[str, str]) -> SchedulerSetup:
    """Check `--notify` for `cron install`: a target that could never deliver from the
    scheduler's bare environment is refused (UsageError or NotifyFailed saying what is
    missing) before anything is written."""
    import shutil

    target = parse_target(text)
    if target.kind == "desktop":
        if shutil.which("notify-send") is None:
            raise NotifyFailed(
                "notify-send is not installed (Debian and Ubuntu: apt install libnotify-bin)"
            )
        socket = runtime_bus_socket(environ)
        if socket is not None:
            return SchedulerSetup("desktop", {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={socket}"})
        address = environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            raise NotifyFailed(MISSING_BUS + " Run 'cron install' from your desktop session")
        if has_control(address):
            raise NotifyFailed(
                f"DBUS_SESSION_BUS_ADDRESS '{visible(address)}' holds a control character"
            )
        return SchedulerSetup("desktop", {"DBUS_SESSION_BUS_ADDRESS": address})
    if target.kind == "exec":
        assert target.value is not None
        # cron's PATH is /usr/bin:/bin: a program found on yours is written by its path.
        program = shutil.which(target.value)
        if program is None:
            raise NotifyFailed(f"{target.value} is not an executable program")
        return SchedulerSetup(f"exec:{os.path.abspath(program)}", {})
    if target.kind == "apprise":
        assert target.value is not None
        try:
            import apprise
        except ImportError:
            raise NotifyFailed(
                "Apprise is not installed; install it with: pip install 'medtrack[notify]'"
            ) from None
        _apprise_notifier(apprise, target.value)
        return SchedulerSetup(text.strip(), {})
    if target.kind == "ntfy":
        # Reached over the network from cron's bare environment as from anywhere: the
        # URL was checked by parse_target; the server is tried by `remind --test`.
        return SchedulerSetup(f"ntfy:{target.value}", {})
    return SchedulerSetup("stdout", {})
