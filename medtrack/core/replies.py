"""Two-way reminders over ntfy, as plain values: the buttons a dose reminder carries, the
reply each button publishes, and reading such a reply back. No I/O, no clock.

A reminder is published with up to three ntfy action buttons of type ``http`` (ntfy
documentation, "Action buttons" / "Send HTTP request":
https://docs.ntfy.sh/publish/#action-buttons and
https://docs.ntfy.sh/publish/#send-http-request). Tapping one makes the phone send the
button's request itself: here a POST of a small JSON body to the reply topic, which ntfy
keeps as a message like any other. `medtrack remind` polls that topic later
(https://docs.ntfy.sh/subscribe/api/#polling-for-messages) and reads each message's
``message`` field back with `parse_reply`.

The body is fixed when the reminder is published, so it cannot hold the moment of the
tap: that is the reply message's own ``time`` (ntfy's JSON message format, "Message date
time, as Unix time stamp": https://docs.ntfy.sh/subscribe/api/#json-message-format), the
moment ntfy received the phone's request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

TAKEN, SKIPPED, SNOOZE, TEST = "taken", "skipped", "snooze", "test"
ACTIONS = (TAKEN, SKIPPED, SNOOZE, TEST)
SNOOZE_LENGTH = timedelta(minutes=30)
# Marks a body as ours: anything else posted to the reply topic is kept in history as
# not understood and changes nothing.
FORMAT = "medtrack-reply/1"
# ntfy topic names: "[-_A-Za-z0-9]{1,64}" (server's topic regex; docs: "topic names ...
# can be any alphanumeric string including dashes and underscores, 1-64 characters").
TOPIC_PATTERN = re.compile(r"[-_A-Za-z0-9]{1,64}")
# At most three action buttons per message (https://docs.ntfy.sh/publish/#action-buttons).
MAX_ACTIONS = 3


class Reply(NamedTuple):
    """One tap read back from the reply topic."""

    message_id: str  # ntfy's message id, unique per message
    tapped_at: datetime  # the reply message's `time` (UTC)
    action: str  # taken, skipped, snooze or test
    medication_id: int | None
    slot: datetime | None  # the slot the reminder was about (UTC)
    reason: str | None = None  # a skip's reason, when the reply says one


class NotAReply(NamedTuple):
    """A message on the reply topic that is not a reply of ours (kept, never obeyed)."""

    message_id: str
    received_at: datetime
    why: str


def _slot_text(slot: datetime) -> str:
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reply_body(action: str, medication_id: int | None, slot: datetime | None) -> str:
    """The JSON a button publishes: which slot, which action (the tap's time is added by
    ntfy as the message's `time`)."""
    body: dict[str, Any] = {"format": FORMAT, "action": action}
    if medication_id is not None and slot is not None:
        body["medication"] = medication_id
        body["slot"] = _slot_text(slot)
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def dose_actions(
    reply_url: str,
    medication_id: int,
    slot: datetime,
    headers: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The three buttons of a dose reminder: Taken, Skipped, Snooze 30 min.

    Each is an ntfy ``http`` action in its JSON form (``action``, ``label``, ``url``,
    ``method``, ``headers``, ``body``, ``clear``: https://docs.ntfy.sh/publish/#send-http-request).
    ``clear`` dismisses the notification once the request succeeded, so a second tap on
    the same reminder is unlikely (and harmless: a reply for an answered slot changes
    nothing).
    """
    buttons = [(TAKEN, "Taken"), (SKIPPED, "Skipped"), (SNOOZE, "Snooze 30 min")]
    actions = []
    for action, label in buttons:
        button: dict[str, Any] = {
            "action": "http",
            "label": label,
            "url": reply_url,
            "method": "POST",
            "body": reply_body(action, medication_id, slot),
            "clear": True,
        }
        if headers:
            button["headers"] = dict(headers)
        actions.append(button)
    assert len(actions) <= MAX_ACTIONS
    return actions


def probe_actions(reply_url: str, headers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The one button of `remind --test`'s message: a reply that records nothing."""
    button: dict[str, Any] = {
        "action": "http",
        "label": "Reply",
        "url": reply_url,
        "method": "POST",
        "body": reply_body(TEST, None, None),
        "clear": True,
    }
    if headers:
        button["headers"] = dict(headers)
    return [button]


def parse_reply(message: Mapping[str, Any]) -> Reply | NotAReply | None:
    """Read one message of the reply topic (ntfy's JSON message format). None for what
    is not a message at all (``open``, ``keepalive`` events, no id): nothing to keep."""
    if message.get("event") != "message":
        return None
    message_id = message.get("id")
    when = message.get("time")
    if not isinstance(message_id, str) or not isinstance(when, int):
        return None
    if TOPIC_PATTERN.fullmatch(message_id) is None:
        return None  # ntfy's ids are short words of letters and digits
    at = datetime.fromtimestamp(when, UTC)
    text = message.get("message")
    try:
        body = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        return NotAReply(message_id, at, "not a medtrack reply")
    action = body.get("action")
    if action not in ACTIONS:
        return NotAReply(message_id, at, "unknown action")
    if action == TEST:
        return Reply(message_id, at, TEST, None, None)
    medication = body.get("medication")
    slot_text = body.get("slot")
    if not isinstance(medication, int) or isinstance(medication, bool):
        return NotAReply(message_id, at, "no medication")
    try:
        slot = datetime.strptime(str(slot_text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return NotAReply(message_id, at, "no slot")
    reason = body.get("reason")
    return Reply(
        message_id, at, action, medication, slot, reason if isinstance(reason, str) else None
    )


def new_topic_ok(topic: str) -> bool:
    """Whether `topic` is a name ntfy accepts."""
    return TOPIC_PATTERN.fullmatch(topic) is not None
