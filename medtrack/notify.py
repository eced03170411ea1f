"""Where reminders go: stdout, a desktop notification, any Apprise URL, or a program.

A back end that fails never loses a reminder: `deliver` prints it on stdout instead
(cron mails stdout) and says on stderr why. Apprise is an optional dependency
(`pip install 'medtrack[notify]'`), imported only when an `apprise:` target is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from medtrack.errors import UsageError

TITLE = "medtrack"
TARGET_FORMS = 'stdout, desktop, "apprise:URL" or "exec:/path/to/program"'
SEND_TIMEOUT_SECONDS = 20


class NotifyFailed(Exception):
    """A back end could not deliver; the message says why, in words for stderr."""


class Target(NamedTuple):
    """A parsed `--notify` value: `kind` is stdout, desktop, apprise or exec."""

    kind: str
    value: str | None = None

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
        return {"stdout": "stdout", "desktop": "desktop notification"}[self.kind]


def parse_target(text: str) -> Target:
    """Read `--notify`: ``stdout``, ``desktop``, ``apprise:URL`` or ``exec:PROGRAM``."""
    cleaned = text.strip()
    if cleaned in ("stdout", "desktop"):
        return Target(cleaned)
    kind, sep, value = cleaned.partition(":")
    if sep and kind in ("apprise", "exec") and value.strip():
        return Target(kind, value.strip())
    raise UsageError(f"--notify '{text}' is not a target: use {TARGET_FORMS}")


def send(target: Target, message: str) -> None:
    """Deliver one message through `target`, or raise NotifyFailed."""
    import shutil

    if target.kind == "stdout":
        raise AssertionError("stdout is printed by deliver, not sent")
    if target.kind == "desktop":
        program = shutil.which("notify-send")
        if program is None:
            raise NotifyFailed("notify-send is not installed")
        from medtrack.render.escaping import notification_body

        # The body is rendered as markup by notification servers: stored text is escaped.
        # `--` ends the options, so a reminder starting with '-' is never read as one.
        body = notification_body(message)
        _run([program, "--app-name=medtrack", "--", TITLE, body], "notify-send")
    elif target.kind == "exec":
        assert target.value is not None
        program = shutil.which(target.value) if "/" not in target.value else target.value
        if program is None:
            raise NotifyFailed(f"{target.value} is not a program on PATH")
        # No shell: the message is one argument whatever characters it holds.
        _run([program, message], target.value)
    elif target.kind == "apprise":
        assert target.value is not None
        _send_apprise(target.value, message)
    else:
        raise AssertionError(f"unknown notify target {target.kind}")


def _run(argv: list[str], name: str) -> None:
    import subprocess

    try:
        result = subprocess.run(
            argv,
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
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise NotifyFailed("Apprise does not recognise the URL")
    if not notifier.notify(body=message, title=TITLE):
        raise NotifyFailed("Apprise could not deliver (target unreachable or refused)")


def deliver(
    target: Target,
    messages: Sequence[str],
    *,
    out: Callable[[str], None],
    err: Callable[[str], None],
) -> list[str]:
    """Send each message; return the channel each one actually went through.

    After the first failure the back end is not tried again this run (one timeout, not
    one per reminder): the rest go to stdout as well.
    """
    channels: list[str] = []
    failed = target.kind == "stdout"
    for message in messages:
        if not failed:
            try:
                send(target, message)
                channels.append(target.kind)
                continue
            except NotifyFailed as exc:
                failed = True
                err(f"medtrack: {target.label} failed ({exc}); printing reminders instead")
        out(message)
        channels.append("stdout")
    return channels
