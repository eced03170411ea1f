"""A small ntfy server on 127.0.0.1 for the tests: the documented publish and poll
endpoints only (the real server is a Go program with no PyPI, Debian or npm package).

- ``POST /`` with a JSON body ``{"topic", "message", "title", "actions"}`` publishes
  (https://docs.ntfy.sh/publish/#publish-as-json) and answers the stored message;
- ``POST /<topic>`` (or PUT) publishes the body as the message text, as an ``http``
  action button does (https://docs.ntfy.sh/publish/#send-http-request);
- ``GET /<topic>/json?poll=1&since=<id|all|unix time>`` answers the cached messages after
  that one, one JSON object per line (https://docs.ntfy.sh/subscribe/api/#polling-for-messages);
  an id the cache no longer holds answers every cached message, as the real server does;
- messages are kept for the cache duration, 12 hours by default
  (https://docs.ntfy.sh/config/#message-cache), measured on the server's own clock
  (`clock`, which tests move);
- with `token` set, a request without ``Authorization: Bearer <token>`` gets 403.
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CACHE_SECONDS = 12 * 3600


class FakeNtfy:
    def __init__(self, clock: int, token: str | None = None) -> None:
        self.clock = clock  # Unix seconds: the server's "now", moved by the tests
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeNtfy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Down: the port refuses connections (the listening socket is closed)."""
        if self.thread.is_alive():
            self.server.shutdown()
            self.thread.join()
        self.server.server_close()

    def restart(self) -> None:
        """Up again on the same port, with the same cache."""
        address = self.server.server_address[:2]
        self.server = ThreadingHTTPServer(address, self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def store(self, topic: str, message: str, **extra: Any) -> dict[str, Any]:
        with self.lock:
            item = {
                "id": secrets.token_urlsafe(9),
                "time": self.clock,
                "expires": self.clock + CACHE_SECONDS,
                "event": "message",
                "topic": topic,
                "message": message,
                **extra,
            }
            self.messages.append(item)
            return item

    def cached(self, topic: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["topic"] == topic and m["expires"] > self.clock]

    def on(self, topic: str) -> list[dict[str, Any]]:
        """Every message ever published to `topic` (expired ones too)."""
        return [m for m in self.messages if m["topic"] == topic]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _refuse(self) -> bool:
                fake.requests.append((self.command, self.path, dict(self.headers)))
                if fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(403, {"code": 40301, "http": 403, "error": "forbidden"})
                    return True
                return False

            def _send(self, status: int, body: Any, ndjson: bool = False) -> None:
                if ndjson:
                    data = "".join(json.dumps(m) + "\n" for m in body).encode()
                else:
                    data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> str:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length).decode()

            def do_POST(self) -> None:
                if self._refuse():
                    return
                path = urlsplit(self.path).path
                body = self._body()
                if path == "/":
                    payload = json.loads(body)
                    extra = {k: payload[k] for k in ("title", "actions") if k in payload}
                    item = fake.store(payload["topic"], payload.get("message", ""), **extra)
                else:
                    item = fake.store(path.strip("/"), body)
                self._send(200, item)

            do_PUT = do_POST

            def do_GET(self) -> None:
                if self._refuse():
                    return
                parts = urlsplit(self.path)
                topic, _, kind = parts.path.strip("/").partition("/")
                query = parse_qs(parts.query)
                if kind != "json" or query.get("poll") != ["1"]:
                    self._send(400, {"error": "this fake only polls"})
                    return
                since = query.get("since", ["all"])[0]
                cached = fake.cached(topic)
                if since == "all":
                    found = cached
                elif since.isdigit():
                    found = [m for m in cached if m["time"] >= int(since)]
                else:
                    ids = [m["id"] for m in cached]
                    found = cached[ids.index(since) + 1 :] if since in ids else cached
                self._send(200, found, ndjson=True)

        return Handler
