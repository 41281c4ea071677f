"""Real webhook receivers on loopback: a threaded HTTP server that records every request and can
be told to answer slowly, to fail a number of times first, to always fail, or to be down."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def action(self) -> str:
        return self.json["action"]

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id")


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Behaviour, changeable while it runs:
    fail_first: int = 0  # answer 500 to this many requests, then 200
    always_status: int | None = None  # answer this status to every request
    delay: float = 0.0  # seconds to wait before answering
    hang_after: int | None = None  # after this many answered requests, hang (a worker to kill)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self):
        self._arrived = threading.Condition(self._lock)

    def _record(self, received: Received) -> int:
        with self._arrived:
            self.requests.append(received)
            count = len(self.requests)
            self._arrived.notify_all()
        if self.hang_after is not None and count > self.hang_after:
            time.sleep(3600)
        if self.delay:
            time.sleep(self.delay)
        if self.always_status is not None:
            return self.always_status
        if count <= self.fail_first:
            return 500
        return 200

    def wait_for(self, count: int, timeout: float = 20.0, *, action: str | None = None) -> list[Received]:
        """Wait (with a deadline) until `count` requests (of `action`, if given) have arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                matching = [r for r in self.requests if action is None or r.action == action]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [r.action for r in self.requests]
                    raise AssertionError(f"expected {count} webhook request(s){' of ' + action if action else ''}, got {got}")
                self._arrived.wait(remaining)

    def actions(self) -> list[str]:
        with self._lock:
            return [r.action for r in self.requests]

    def unique(self) -> dict[str, Received]:
        """The requests deduplicated by webhook-id, as a receiver following Standard Webhooks does."""
        with self._lock:
            seen: dict[str, Received] = {}
            for r in self.requests:
                seen.setdefault(r.webhook_id, r)
            return seen


@contextmanager
def receiver(host: str = "127.0.0.1", **behaviour):
    """A running receiver; yields a Receiver whose `url` ends in /hook."""

    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = state["receiver"]._record(Received(self.path, headers, body))
            answer = b"ok" if status < 400 else b"receiver error"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    the_receiver = Receiver(url=f"http://{host}:{server.server_address[1]}/hook", **behaviour)
    state["receiver"] = the_receiver
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield the_receiver
    finally:
        server.shutdown()
        server.server_close()


def down_url(host: str = "127.0.0.1") -> str:
    """A URL on loopback where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    return f"http://{host}:{port}/hook"
