"""ML backend -> Label Studio JSON (MLBackendSerializer of LS 1.23.2): the password is never
returned, only whether one is set."""
from __future__ import annotations

from core.ml.models import READABLE_STATES, MLBackend
from core.timeutil import isoformat


def ml_backend_json(backend: MLBackend) -> dict:
    return {
        "id": backend.id,
        "state": backend.state,
        "readable_state": READABLE_STATES.get(backend.state, backend.state),
        "is_interactive": bool(backend.is_interactive),
        "url": backend.url,
        "error_message": backend.error_message,
        "title": backend.title,
        "auth_method": backend.auth_method or "NONE",
        "basic_auth_user": backend.basic_auth_user,
        "basic_auth_pass_is_set": bool(backend.basic_auth_pass),
        "description": backend.description,
        "extra_params": backend.extra_params,
        "model_version": backend.model_version,
        "timeout": float(backend.timeout) if backend.timeout is not None else 100.0,
        "created_at": isoformat(backend.created_at),
        "updated_at": isoformat(backend.updated_at),
        "auto_update": bool(backend.auto_update),
        "project": backend.project_id,
    }
