from __future__ import annotations

from typing import Sequence

from core.projects.batch import projects_by_ids
from core.projects.model_versions import ModelVersionCount, model_version_counts
from core.projects.queries import project_counters
from graphql_api.dataloader import ContextLoader, by_id_loader
from graphql_api.projects.types import ProjectNode

ProjectByIdLoader = by_id_loader("ProjectByIdLoader", projects_by_ids, ProjectNode.from_model)


class ProjectCountersByIdLoader(ContextLoader):
    """Label Studio's per-project counters; ids come from projects already loaded in the caller's organization."""

    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[dict]:
        def work():
            counters = project_counters(self.session, list(project_ids))
            return [counters.get(pk, {}) for pk in project_ids]

        return await self.context.read(work)


class ModelVersionsByProjectIdLoader(ContextLoader):
    """Prediction counts per model version; ids come from projects already loaded in the caller's organization."""

    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[list[ModelVersionCount]]:
        def work():
            counts = model_version_counts(self.session, list(project_ids))
            return [counts[pk] for pk in project_ids]

        return await self.context.read(work)
