"""Calls to an ML backend, Label Studio's protocol: GET /health, POST /setup, POST /predict,
POST /webhook, GET /versions. Every call goes through the outgoing-URL policy
(core.net.outgoing.request_json), with the backend's basic auth and a timeout.

A call never raises for what the backend did: a refused URL, an unreachable host, a timeout, an
HTTP error or a body that is not JSON become a `BackendAnswer` with `error` set, as Label Studio's
MLApiResult does, so callers decide whether that is a 400, a backend state or a failed job."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from core.config import Settings
from core.ml.models import MLBackend
from core.net.outgoing import OutgoingUrlRefused, request_json
from core.projects.models import Project

BASIC_AUTH, NO_AUTH = "BASIC_AUTH", "NONE"
# Label Studio's ML_TIMEOUT_HEALTH / ML_TIMEOUT_SETUP are 1 s and 3 s; a few seconds more is kinder
# to a backend loading its model, and the backend's own timeout still caps them.
HEALTH_TIMEOUT = 5.0
SETUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Connection:
    """Where and how to reach a backend (a saved one, or the values of a create/update being checked)."""

    url: str
    auth_method: str = NO_AUTH
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = None
    timeout: float = 100.0

    @classmethod
    def of(cls, backend: MLBackend) -> "Connection":
        return cls(backend.url, backend.auth_method or NO_AUTH, backend.basic_auth_user, backend.basic_auth_pass,
                   float(backend.timeout or 100.0))

    def endpoint(self, name: str) -> str:
        base = self.url if self.url.endswith("/") else self.url + "/"
        return urljoin(base, name)

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.auth_method == BASIC_AUTH and self.basic_auth_user and self.basic_auth_pass:
            return self.basic_auth_user, self.basic_auth_pass
        return None


@dataclass
class BackendAnswer:
    url: str
    status_code: int  # 0 when nothing answered
    body: Any = None
    error: str | None = None

    @property
    def is_error(self) -> bool:
        return self.error is not None


def call(settings: Settings, connection: Connection, name: str, payload: Any = None, *, method: str = "POST",
         timeout: float | None = None) -> BackendAnswer:
    url = connection.endpoint(name)
    limit = min(timeout, connection.timeout) if timeout is not None else connection.timeout
    try:
        answer = request_json(settings, method, url, json=payload if method != "GET" else None,
                              auth=connection.auth, timeout=max(limit, 0.1))
    except OutgoingUrlRefused as exc:
        return BackendAnswer(url, 0, error=str(exc))
    if answer.status_code >= 400:
        detail = answer.body.get("error") if isinstance(answer.body, dict) else None
        reason = detail or answer.text[:500] or "no details"
        return BackendAnswer(url, answer.status_code, answer.body, f"{answer.status_code} Error for url {url}: {reason}")
    if answer.body is None:
        return BackendAnswer(url, answer.status_code, None, f"{url} did not answer with JSON: {answer.text[:200]!r}")
    return BackendAnswer(url, answer.status_code, answer.body)


def project_uid(project: Project) -> str:
    """How Label Studio names a project to backends: "<id>.<creation unix time>"."""
    return f"{project.id}.{int(project.created_at.timestamp())}" if project.created_at else str(project.id)


def health(settings: Settings, connection: Connection) -> BackendAnswer:
    return call(settings, connection, "health", method="GET", timeout=HEALTH_TIMEOUT)


def setup(settings: Settings, connection: Connection, project: Project, *, access_token: str | None,
          extra_params: Any) -> BackendAnswer:
    return call(settings, connection, "setup", {
        "project": project_uid(project),
        "schema": project.label_config,
        "hostname": settings.hostname,
        "access_token": access_token,
        "extra_params": extra_params,
    }, timeout=SETUP_TIMEOUT)


def predict(settings: Settings, connection: Connection, project: Project, tasks: list[dict], context: Any = None) -> BackendAnswer:
    return call(settings, connection, "predict", {
        "tasks": tasks,
        "project": project_uid(project),
        "label_config": project.label_config,
        "params": {"login": project.task_data_login, "password": project.task_data_password, "context": context},
    })


def send_webhook(settings: Settings, connection: Connection, action: str, payload: dict) -> BackendAnswer:
    return call(settings, connection, "webhook", {"action": action, **payload})


def versions(settings: Settings, connection: Connection) -> BackendAnswer:
    return call(settings, connection, "versions", method="GET", timeout=SETUP_TIMEOUT)

