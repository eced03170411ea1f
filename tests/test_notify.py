"""Notification back ends: parsing targets, Apprise for real against a local HTTP endpoint,
and the fallback to stdout that never loses a reminder."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from medtrack.errors import UsageError
from medtrack.notify import NotifyFailed, Target, deliver, parse_target, send

# Apprise itself imports the deprecated imghdr on Python 3.11/3.12; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("stdout", Target("stdout")),
        ("desktop", Target("desktop")),
        (
            "apprise:ntfys://ntfy.example/medtrack",
            Target("apprise", "ntfys://ntfy.example/medtrack"),
        ),
        ("exec:/usr/local/bin/my-notifier", Target("exec", "/usr/local/bin/my-notifier")),
    ],
)
def test_parse_target(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["", "email", "apprise:", "exec:", "sms:123"])
def test_parse_target_refuses(text):
    with pytest.raises(UsageError):
        parse_target(text)


def test_label_hides_url_secrets():
    target = parse_target("apprise:json://user:secret@example.org:8080/path?token=abc")
    assert target.label == "Apprise target json://example.org:8080"


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        Collector.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def http_endpoint():
    Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), Collector)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_apprise_delivers_to_a_local_json_endpoint(http_endpoint):
    target = parse_target(f"apprise:json://127.0.0.1:{http_endpoint}")
    out, err = [], []
    channels = deliver(
        target, ["sertraline 50 mg due", "lithium 400 mg due"], out=out.append, err=err.append
    )
    assert channels == ["apprise", "apprise"]
    assert out == [] and err == []
    assert [m["message"] for m in Collector.received] == [
        "sertraline 50 mg due",
        "lithium 400 mg due",
    ]
    assert Collector.received[0]["title"] == "medtrack"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_apprise_target_falls_back_once():
    target = parse_target(f"apprise:json://127.0.0.1:{closed_port()}?cto=1&rto=1")
    out, err = [], []
    channels = deliver(target, ["one", "two"], out=out.append, err=err.append)
    # Both printed; the back end tried once, one line on stderr saying why.
    assert channels == [None, None] and out == ["one", "two"]  # printed, not delivered
    assert len(err) == 1 and "could not deliver" in err[0] and "127.0.0.1" in err[0]


def test_apprise_unknown_url_fails_clearly():
    with pytest.raises(NotifyFailed, match="does not recognise"):
        send(Target("apprise", "nosuchscheme://x"), "hi")


def test_apprise_not_installed_says_how(monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise -> ImportError
    with pytest.raises(NotifyFailed, match=r"medtrack\[notify\]"):
        send(Target("apprise", "json://127.0.0.1:1"), "hi")


def fake_notify_send(folder, record):
    fake = folder / "notify-send"
    fake.write_text(
        f'#!/bin/sh\n{{ echo "$DBUS_SESSION_BUS_ADDRESS"; for a in "$@"; do echo "$a"; done; }}'
        f" > {record}\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)


def test_desktop_uses_notify_send_when_present(tmp_path, monkeypatch):
    record = tmp_path / "args"
    fake_notify_send(tmp_path, record)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
    assert deliver(Target("desktop"), ["take it; $(rm -rf /)"], out=print, err=print) == ["desktop"]
    assert record.read_text().splitlines() == [
        "unix:path=/run/user/1000/bus",
        "--app-name=medtrack",
        "--",
        "medtrack",
        "take it; $(rm -rf /)",
    ]


def test_desktop_under_cron_finds_the_session_bus_itself(tmp_path, monkeypatch):
    """cron passes neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR: the socket in
    /run/user/UID is found and handed to notify-send."""
    import socket

    record = tmp_path / "args"
    fake_notify_send(tmp_path, record)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    runtime = tmp_path / "run" / str(os.getuid())
    runtime.mkdir(parents=True)
    monkeypatch.setattr("medtrack.notify.USER_RUNTIME_DIR", str(tmp_path / "run" / "{uid}"))
    out, err = [], []
    # No socket yet: no session to show it in; printed, and stderr says what is missing.
    assert deliver(Target("desktop"), ["m"], out=out.append, err=err.append) == [None]
    assert out == ["m"] and "DBUS_SESSION_BUS_ADDRESS is not set" in err[0]
    with socket.socket(socket.AF_UNIX) as bus:
        bus.bind(str(runtime / "bus"))
        assert deliver(Target("desktop"), ["m"], out=print, err=print) == ["desktop"]
    assert record.read_text().splitlines()[0] == f"unix:path={runtime / 'bus'}"


def test_apprise_plugin_that_raises_is_a_failed_delivery(monkeypatch):
    import apprise

    def boom(self, *args, **kwargs):
        raise ValueError("plugin bug")

    monkeypatch.setattr(apprise.Apprise, "notify", boom)
    out, err = [], []
    channels = deliver(
        Target("apprise", "json://127.0.0.1:9"), ["m"], out=out.append, err=err.append
    )
    assert channels == [None] and out == ["m"]
    assert err == [
        "medtrack: Apprise target json://127.0.0.1:9 failed (Apprise failed (ValueError)); "
        "printing reminders instead"
    ]


def test_desktop_notification_shows_markup_and_escapes_as_text(tmp_path, monkeypatch):
    # notify-send bodies are rendered as markup (<b>, <a href>, <img>) by the notification
    # server: a medication named with tags must arrive as the characters typed.
    record = tmp_path / "args"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\0" "$@" > {record}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
    message = '--icon=x <b>Time</b> for <a href="http://evil">a&b</a>\x1b]8;;http://e\x07'
    assert deliver(Target("desktop"), [message], out=print, err=print) == ["desktop"]
    args = record.read_text().split("\0")[:-1]
    assert args[:3] == ["--app-name=medtrack", "--", "medtrack"]
    assert args[3] == (
        '--icon=x &lt;b&gt;Time&lt;/b&gt; for &lt;a href="http://evil"&gt;a&amp;b&lt;/a&gt;'
        "\\x1b]8;;http://e\\x07"
    )


def test_exec_failures_fall_back(tmp_path):
    failing = tmp_path / "fails"
    failing.write_text("#!/bin/sh\necho broken pipe dream >&2\nexit 3\n")
    failing.chmod(failing.stat().st_mode | stat.S_IXUSR)
    out, err = [], []
    assert deliver(Target("exec", str(failing)), ["m"], out=out.append, err=err.append) == [None]
    assert out == ["m"]
    assert err == [
        f"medtrack: program {failing} failed ({failing} exited with status 3: broken pipe dream); "
        "printing reminders instead"
    ]
    out, err = [], []
    deliver(Target("exec", str(tmp_path / "missing")), ["m"], out=out.append, err=err.append)
    assert out == ["m"] and "can't run" in err[0]


def test_remind_through_apprise_end_to_end(http_endpoint, monkeypatch):
    import os
    import sqlite3

    from typer.testing import CliRunner

    from medtrack.cli import app

    runner = CliRunner()
    monkeypatch.setenv("MEDTRACK_NOW", "2026-11-23T08:05:00+01:00")
    added = runner.invoke(
        app, ["med", "add", "sertraline", "--dose", "50mg", "--schedule", "daily 08:00"]
    )
    assert added.exit_code == 0
    result = runner.invoke(app, ["remind", "--notify", f"apprise:json://127.0.0.1:{http_endpoint}"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    (received,) = Collector.received
    assert received["message"].startswith("sertraline 50 mg overdue since 08:00")
    conn = sqlite3.connect(os.environ["MEDTRACK_DB"])
    assert conn.execute("SELECT channel FROM reminders_sent WHERE kind = 'dose'").fetchall() == [
        ("apprise",)
    ]
    conn.close()
