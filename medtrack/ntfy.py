"""ntfy over HTTP with the standard library (urllib): publish a message, poll a topic.

Only what ntfy documents is used:

- publishing as JSON: a POST of ``{"topic": ..., "message": ..., "title": ...,
  "actions": [...]}`` to the server's root URL (https://docs.ntfy.sh/publish/#publish-as-json);
  the answer is the stored message as JSON, with its ``id``;
- action buttons in that JSON form (https://docs.ntfy.sh/publish/#action-buttons);
- polling: ``GET /<topic>/json?poll=1&since=<id>`` answers every cached message after
  that message id, one JSON object per line, and ends
  (https://docs.ntfy.sh/subscribe/api/#polling-for-messages and
  https://docs.ntfy.sh/subscribe/api/#fetching-cached-messages: ``since`` takes a
  duration, a Unix time, a message id or ``all``). The server keeps messages for its
  cache duration, 12 hours by default (https://docs.ntfy.sh/config/#message-cache);
- an access token as ``Authorization: Bearer <token>``
  (https://docs.ntfy.sh/publish/#access-tokens).

Nothing here decides anything about doses: `medtrack.core.replies` builds the buttons
and reads the replies; `cli.reminders` records them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

TIMEOUT_SECONDS = 20
# A poll reads the cache of one topic: a generous bound against a server gone wrong.
MAX_POLL_BYTES = 4 * 1024 * 1024


class NtfyFailed(Exception):
    """The server could not be reached or refused; the message says why, in words."""


class Topic(NamedTuple):
    """`ntfy:https://HOST[:PORT][/PATH]/TOPIC` read as the server's base URL and a topic."""

    server: str  # scheme://host[:port][/path], no trailing slash
    topic: str

    @property
    def url(self) -> str:
        return f"{self.server}/{self.topic}"

    def sibling(self, topic: str) -> Topic:
        """Another topic on the same server (the reply topic)."""
        return Topic(self.server, topic)

    @property
    def label(self) -> str:
        """The server, without the topic (a topic is a password: never shown)."""
        return f"ntfy server {self.server}"


def parse_url(text: str) -> Topic:
    """Read the URL part of ``ntfy:URL``; ValueError saying what is wrong."""
    from urllib.parse import urlsplit

    from medtrack.core.replies import new_topic_ok

    parts = urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            "needs an http(s) URL ending in the topic, e.g. ntfy:https://ntfy.sh/TOPIC"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("takes no query, fragment or user:password (store a token instead)")
    path = parts.path.rstrip("/")
    base, _, topic = path.rpartition("/")
    if not new_topic_ok(topic):
        raise ValueError("the URL must end in a topic name of 1 to 64 letters, digits, - or _")
    port = f":{parts.port}" if parts.port else ""
    return Topic(f"{parts.scheme}://{parts.hostname}{port}{base}", topic)


def _headers(token: str | None, content_type: str | None = None) -> dict[str, str]:
    headers = {"User-Agent": "medtrack"}
    if content_type:
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def auth_headers(token: str | None) -> dict[str, str]:
    """What an action button must send to publish to a protected topic."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _request(request: Any) -> bytes:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.read(MAX_POLL_BYTES + 1)
    except urllib.error.HTTPError as exc:
        import contextlib

        detail = ""
        with contextlib.suppress(ValueError, OSError, AttributeError):
            # ntfy answers errors as {"code": 40301, "http": 403, "error": "forbidden", ...}
            detail = str(json.loads(exc.read(2048) or b"{}").get("error") or "")
        why = "token missing or refused" if exc.code in (401, 403) else (detail or exc.reason)
        raise NtfyFailed(f"HTTP {exc.code}: {why}") from None
    except urllib.error.URLError as exc:
        raise NtfyFailed(f"unreachable ({exc.reason})") from None
    except (TimeoutError, OSError) as exc:
        raise NtfyFailed(f"unreachable ({exc})") from None


def publish(
    topic: Topic,
    message: str,
    *,
    title: str = "medtrack",
    actions: list[dict[str, Any]] | None = None,
    token: str | None = None,
) -> str:
    """Publish one message as JSON to the server's root URL; returns its ntfy id."""
    import urllib.request

    payload: dict[str, Any] = {"topic": topic.topic, "message": message, "title": title}
    if actions:
        payload["actions"] = actions
    request = urllib.request.Request(
        topic.server + "/",
        data=json.dumps(payload).encode(),
        headers=_headers(token, "application/json"),
        method="POST",
    )
    answer = _request(request)
    try:
        stored = json.loads(answer)
    except ValueError:
        raise NtfyFailed("the server's answer is not ntfy's JSON message") from None
    if not isinstance(stored, dict) or not isinstance(stored.get("id"), str):
        raise NtfyFailed("the server's answer has no message id")
    return stored["id"]


def post_body(topic: Topic, body: str, token: str | None = None) -> None:
    """POST `body` to the topic's URL as a plain message, as a tapped button does."""
    import urllib.request

    request = urllib.request.Request(
        topic.url, data=body.encode(), headers=_headers(token), method="POST"
    )
    _request(request)


def poll(topic: Topic, since: str | None, token: str | None = None) -> list[dict[str, Any]]:
    """Every cached message of `topic` after message id `since` (all cached ones when
    None), oldest first. A line that is not JSON is left out, never obeyed."""
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"poll": "1", "since": since or "all"})
    request = urllib.request.Request(f"{topic.url}/json?{query}", headers=_headers(token))
    answer = _request(request)
    if len(answer) > MAX_POLL_BYTES:
        raise NtfyFailed("the poll's answer is larger than any reply topic holds")
    messages = []
    for line in answer.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            messages.append(item)
    return messages


# --- the access token, kept next to the database, 0600 -----------------------------------


def token_path(database: Path) -> Path:
    """Where the access token of `database` is kept: beside it, never inside it, so it
    never reaches an export, a backup's history or a report."""
    return database.with_name(database.stem + ".ntfy-token")


def read_token(database: Path) -> str | None:
    try:
        text = token_path(database).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NtfyFailed(f"can't read the ntfy token file: {exc.strerror or exc}") from None
    return text or None


def write_token(database: Path, token: str) -> Path:
    from medtrack.files import make_private_folders, write_private

    path = token_path(database)
    make_private_folders(path.parent)
    write_private(path, token.strip() + "\n")  # a new file 0600, never through a link
    return path
