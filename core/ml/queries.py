"""Reads of ML backends, scoped to the caller's organization. Like Label Studio, reading a
backend refreshes its state from /health and /setup, but only when the cached answer is older
than settings.ml_health_cache_seconds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound
from core.events import record
from core.events.catalog import ML_BACKEND_UPDATED
from core.ml import client
from core.ml.client import Connection
from core.ml.connection import refresh_state
from core.ml.models import MLBackend
from core.projects.models import Project
from core.tasks.queries import get_org_project, is_valid_id


def _refreshed(ctx: Context, backends: list[MLBackend], project: Project) -> list[MLBackend]:
    changed = [b.id for b in backends if refresh_state(ctx.session, ctx.settings, b, project)]
    if changed:
        record(ctx, ML_BACKEND_UPDATED, project_id=project.id, ids=changed)
    return backends


def backend_in_organization(session: Session, organization_id: int, backend_id: Any) -> tuple[MLBackend, Project]:
    """The backend and its project, if the project is the organization's; NotFound otherwise.
    Callers are use cases that checked their own permission."""
    if not is_valid_id(backend_id):
        raise NotFound()
    row = session.execute(
        select(MLBackend, Project).join(Project, Project.id == MLBackend.project_id)
        .where(MLBackend.id == backend_id, Project.organization_id == organization_id)
    ).one_or_none()
    if row is None:
        raise NotFound()
    return row[0], row[1]


@use_case(policy.MODELS_VIEW, emits=(ML_BACKEND_UPDATED,))
def list_ml_backends(ctx: Context, project_id: Any, is_interactive: bool | None = None) -> list[MLBackend]:
    """GET /api/ml/?project=: the project's backends by id (Label Studio answers 404 without a project)."""
    project = get_org_project(ctx, project_id)
    query = select(MLBackend).where(MLBackend.project_id == project.id).order_by(MLBackend.id)
    if is_interactive is not None:
        query = query.where(MLBackend.is_interactive == is_interactive)
    return _refreshed(ctx, list(ctx.session.scalars(query)), project)


@use_case(policy.MODELS_VIEW, emits=(ML_BACKEND_UPDATED,))
def get_ml_backend(ctx: Context, backend_id: Any) -> MLBackend:
    backend, project = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    return _refreshed(ctx, [backend], project)[0]


@dataclass
class VersionsAnswer:
    status: int
    body: dict


UPGRADE_MESSAGE = "Upgrade your ML backend version to latest."


@use_case(policy.MODELS_VIEW)
def model_versions(ctx: Context, backend_id: Any) -> VersionsAnswer:
    """GET /api/ml/{id}/versions: the backend's /versions passed through; a backend without the
    route (404) gets its current version and a hint; other failures keep their status, as in LS."""
    backend, _ = backend_in_organization(ctx.session, ctx.org_id, backend_id)
    answer = client.versions(ctx.settings, Connection.of(backend))
    if answer.status_code == 200 and not answer.is_error:
        versions = answer.body.get("versions", []) if isinstance(answer.body, dict) else []
        return VersionsAnswer(200, {"versions": versions})
    if answer.status_code == 404:
        return VersionsAnswer(200, {"versions": [backend.model_version], "message": UPGRADE_MESSAGE})
    return VersionsAnswer(answer.status_code if answer.status_code > 0 else 500, {"error": str(answer.error)})
