"""The model versions of a project's predictions, with their counts (Label Studio's
Project.get_model_versions, served at GET /api/projects/{id}/model-versions/)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.ml.models import MLBackend
from core.predictions.models import Prediction
from core.projects.queries import get_project
from core.validation import Input


@dataclass(frozen=True)
class ModelVersionCount:
    model_version: str
    count: int  # predictions of this version
    latest: datetime | None  # when the newest of them was made; None for a version without predictions


@dataclass(frozen=True)
class ModelVersionParams:
    """The query parameters: `extended` lists every version with its latest prediction (and, with
    `include_live_models`, the project's ML backends); otherwise `limit` caps the list (0: no cap)."""

    extended: bool = False
    include_live_models: bool = False
    limit: int | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> "ModelVersionParams":
        body = Input(dict(params))
        extended = body.boolean("extended", default=False)
        include_live_models = body.boolean("include_live_models", default=False)
        limit = body.integer("limit", min_value=0)
        body.done()
        return cls(extended, include_live_models, limit or None)


@dataclass(frozen=True)
class ProjectModelVersions:
    versions: list[ModelVersionCount]
    extended: bool = False
    live_models: list[MLBackend] | None = None  # only when extended with include_live_models


def model_version_counts(session: Session, project_ids: Sequence[int]) -> dict[int, list[ModelVersionCount]]:
    """Each project's prediction counts per model version, the most recently predicted version first;
    one grouped query for any number of projects."""
    result: dict[int, list[ModelVersionCount]] = {pk: [] for pk in project_ids}
    if not project_ids:
        return result
    latest = func.max(Prediction.created_at)
    rows = session.execute(
        select(Prediction.project_id, Prediction.model_version, func.count(Prediction.id), latest)
        .where(Prediction.project_id.in_(set(project_ids)))
        .group_by(Prediction.project_id, Prediction.model_version)
        .order_by(Prediction.project_id, latest.desc(), Prediction.model_version)
    )
    for project_id, version, count, newest in rows:
        result[project_id].append(ModelVersionCount(version, count, newest))
    return result


def with_project_version(
    versions: list[ModelVersionCount], project_version: str | None, limit: int | None = None
) -> list[ModelVersionCount]:
    """At most `limit` versions; the project's own model_version joins with count 0 when no prediction
    has it and there is room, as Label Studio lists it."""
    listed = versions[:limit] if limit else list(versions)
    if project_version and all(v.model_version != project_version for v in listed):
        if not limit or len(listed) < limit:
            listed.append(ModelVersionCount(project_version, 0, None))
    return listed


@use_case(policy.PROJECTS_VIEW)
def project_model_versions(ctx: Context, project_id: int, params: ModelVersionParams) -> ProjectModelVersions:
    project = get_project(ctx, project_id)
    versions = model_version_counts(ctx.session, [project.id])[project.id]
    if not params.extended:
        return ProjectModelVersions(with_project_version(versions, project.model_version, params.limit))
    live = None
    if params.include_live_models:
        # As Label Studio lists them: the stored rows, no /health call.
        live = list(ctx.session.scalars(select(MLBackend).where(MLBackend.project_id == project.id).order_by(MLBackend.id)))
    return ProjectModelVersions(versions, True, live)
