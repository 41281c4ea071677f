"""A real ML backend on loopback speaking Label Studio's protocol (as label-studio-ml-backend
serves it): GET /health, POST /setup, POST /predict, POST /webhook, GET /versions.

The PyPI package `label-studio-ml` (1.0.9) pins Flask 1.1.2 / Werkzeug 2.0.2 / Jinja2 3.0.3 and
does not import without the undeclared `rq`, so the protocol is served here with http.server.
Every request is recorded (path, method, JSON body, Authorization header) for the tests to assert."""
from __future__ import annotations

import base64
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    body: Any
    authorization: str | None

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(self.authorization[6:]).decode().partition(":")
        return user, password


@dataclass
class MLBackendServer:
    """Knobs a test turns: the model version /setup reports, failing routes, basic auth, versions."""

    url: str = ""
    model_version: str = "model-v1"
    label: str = "pos"
    score: float = 0.87
    # path -> HTTP status to answer instead of the normal answer (e.g. {"/setup": 500}).
    failures: dict[str, int] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None
    # None: /versions answers 404, as older backends do.
    versions: list[str] | None = None
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, path: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path in self.failures:
            return self.failures[path], {"error": f"{path} failed on purpose"}
        if path == "/health" and method == "GET":
            return 200, {"status": "UP", "model_class": "TestModel"}
        if path == "/setup" and method == "POST":
            return 200, {"model_version": self.model_version}
        if path == "/predict" and method == "POST":
            results = []
            for task in body.get("tasks", []):
                region = {"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": [self.label]}}
                results.append({"result": [region], "score": self.score, "model_version": self.model_version,
                                "task_echo": task["id"]})
            return 200, {"results": results, "model_version": self.model_version}
        if path == "/webhook" and method == "POST":
            return 201, {}
        if path == "/versions" and method == "GET":
            if self.versions is None:
                return 404, {"error": "not found"}
            return 200, {"versions": self.versions}
        return 404, {"error": "not found"}


@contextmanager
def ml_backend(host: str = "127.0.0.1", **knobs):
    backend = MLBackendServer(**knobs)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw.strip() else None
            authorization = self.headers.get("Authorization")
            with backend.lock:
                backend.requests.append(Seen(self.command, self.path, body, authorization))
            if backend.basic_auth is not None:
                expected = "Basic " + base64.b64encode(":".join(backend.basic_auth).encode()).decode()
                if authorization != expected:
                    return self._send(401, {"error": "Unauthorized"})
            status, answer = backend.answer(self.command, self.path, body)
            self._send(status, answer)

        def _send(self, status: int, answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    backend.url = f"http://{host}:{server.server_address[1]}"
    try:
        yield backend
    finally:
        server.shutdown()
        server.server_close()
