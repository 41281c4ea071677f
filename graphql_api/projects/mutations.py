from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.projects import service
from graphql_api.projects.types import ProjectNode
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class ProjectPayload:
    project: ProjectNode


@strawberry.input(description="Project settings; omitted fields keep their value (or Label Studio's default on create).")
class ProjectInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    label_config: str | None = strawberry.UNSET
    expert_instruction: str | None = strawberry.UNSET
    show_instruction: bool | None = strawberry.UNSET
    show_skip_button: bool | None = strawberry.UNSET
    enable_empty_annotation: bool | None = strawberry.UNSET
    show_annotation_history: bool | None = strawberry.UNSET
    color: str | None = strawberry.UNSET
    maximum_annotations: int | None = strawberry.UNSET
    is_published: bool | None = strawberry.UNSET
    is_draft: bool | None = strawberry.UNSET
    model_version: str | None = strawberry.UNSET
    sampling: str | None = strawberry.UNSET
    skip_queue: str | None = strawberry.UNSET
    show_ground_truth_first: bool | None = strawberry.UNSET
    show_overlap_first: bool | None = strawberry.UNSET
    overlap_cohort_percentage: int | None = strawberry.UNSET
    control_weights: JSON | None = strawberry.UNSET
    pinned_at: datetime | None = strawberry.UNSET


def _payload(project) -> ProjectPayload:
    return ProjectPayload(project=ProjectNode.from_model(project))


@strawberry.type
class ProjectMutations:
    @strawberry.mutation
    async def create_project(self, info: Info, input: ProjectInput) -> result_union("CreateProjectResult", ProjectPayload):
        return await run_use_case(info, lambda ctx: service.create_project(ctx, as_dict(input)), _payload)

    @strawberry.mutation
    async def update_project(
        self, info: Info, id: strawberry.ID, input: ProjectInput
    ) -> result_union("UpdateProjectResult", ProjectPayload):
        return await run_use_case(
            info, lambda ctx: service.update_project(ctx, pk_or_not_found(id, "Project"), as_dict(input)), _payload
        )

    @strawberry.mutation(description="Delete the project with its tasks, annotations and predictions.")
    async def delete_project(self, info: Info, id: strawberry.ID) -> result_union("DeleteProjectResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_project(ctx, pk_or_not_found(id, "Project")), deleted(id))
