from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import ValidationError
from core.exports.formats import format_list
from core.label_config import parsed_label_config
from core.projects.model_versions import with_project_version
from core.projects.models import Project
from graphql_api.data_manager.inputs import TaskFilterInput, TaskOrderInput, filters_dict, ordering_terms
from graphql_api.data_manager.task_list import filtered_tasks
from graphql_api.data_manager.types import ViewNode
from graphql_api.errors import BadRequest, validation_message
from graphql_api.exports.types import ExportFormat, ExportSnapshotNode
from graphql_api.relay import Connection, Node, PageArgs, make_connection, to_global_id
from graphql_api.tasks.types import TaskNode
from graphql_api.timestamps import utc
from graphql_api.users.types import UserNode


@strawberry.type(name="ModelVersionCount", description="Predictions of one model version in a project.")
class ModelVersionCountNode:
    model_version: str
    count: int = strawberry.field(description="Number of predictions with this model version.")
    latest: datetime | None = strawberry.field(description="When the newest of them was made; null without predictions.")


@strawberry.type(name="Project")
class ProjectNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    title: str | None
    description: str | None
    label_config: str | None
    expert_instruction: str | None
    show_instruction: bool
    show_skip_button: bool
    enable_empty_annotation: bool
    show_annotation_history: bool
    color: str | None
    maximum_annotations: int
    is_published: bool
    is_draft: bool
    model_version: str | None
    sampling: str | None
    skip_queue: str | None
    show_ground_truth_first: bool
    show_overlap_first: bool
    overlap_cohort_percentage: int
    control_weights: JSON | None
    created_at: datetime
    updated_at: datetime
    pinned_at: datetime | None
    created_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, project: Project) -> "ProjectNode":
        return cls(
            id=strawberry.ID(to_global_id("Project", project.id)),
            pk=project.id,
            title=project.title,
            description=project.description,
            label_config=project.label_config,
            expert_instruction=project.expert_instruction,
            show_instruction=project.show_instruction,
            show_skip_button=project.show_skip_button,
            enable_empty_annotation=project.enable_empty_annotation,
            show_annotation_history=project.show_annotation_history,
            color=project.color,
            maximum_annotations=project.maximum_annotations,
            is_published=project.is_published,
            is_draft=project.is_draft,
            model_version=project.model_version,
            sampling=project.sampling,
            skip_queue=project.skip_queue,
            show_ground_truth_first=project.show_ground_truth_first,
            show_overlap_first=project.show_overlap_first,
            overlap_cohort_percentage=project.overlap_cohort_percentage,
            control_weights=project.control_weights,
            created_at=utc(project.created_at),
            updated_at=utc(project.updated_at),
            pinned_at=utc(project.pinned_at),
            created_by_pk=project.created_by_id,
        )

    @strawberry.field
    async def created_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.created_by_pk) if self.created_by_pk else None

    @strawberry.field(
        description="The project's tasks: ordered by id with keyset cursors; with filter/orderBy, chosen and ordered as the "
        "Data Manager (REST GET /api/tasks/?query=) does, by the same engine, with offset cursors. Unfiltered pages are "
        "batched across projects; a filtered page costs its own statements per project."
    )
    async def tasks(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: TaskFilterInput | None = None,
        order_by: list[TaskOrderInput] | None = None,
    ) -> Connection[TaskNode]:
        if filter is not None or order_by:
            try:
                filters, ordering = filters_dict(filter), ordering_terms(order_by)
            except ValidationError as exc:
                raise BadRequest(validation_message(exc))
            return await filtered_tasks(
                info.context, project_id=self.pk, view_id=None, filters=filters, ordering=ordering, first=first, after=after
            )
        page = PageArgs.parse(first, after)
        loaders = info.context.loaders
        nodes, has_next = await loaders.tasks_by_project_id.load((self.pk, page))
        return make_connection(nodes, has_next, lambda: loaders.task_count_by_project_id.load(self.pk))

    @strawberry.field(description="The project's Data Manager tabs in tab order.")
    async def views(self, info: Info) -> list[ViewNode]:
        return await info.context.loaders.views_by_project_id.load(self.pk)

    @strawberry.field(description="The project's export snapshots, newest first.")
    async def export_snapshots(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ExportSnapshotNode]:
        page = PageArgs.parse(first, after)
        loaders = info.context.loaders
        nodes, has_next = await loaders.export_snapshots_by_project_id.load((self.pk, page))
        return make_connection(nodes, has_next, lambda: loaders.export_snapshot_count_by_project_id.load(self.pk))

    @strawberry.field(description="Every export format, those this labeling config cannot use marked disabled (and listed last).")
    def export_formats(self) -> list[ExportFormat]:
        return [ExportFormat.from_info(item) for item in format_list(parsed_label_config(self.label_config))]

    @strawberry.field(
        description="The model versions of the project's predictions with their counts, the most recently predicted "
        "first; the project's own modelVersion is listed (count 0) even without predictions. REST: "
        "GET /api/projects/{id}/model-versions/."
    )
    async def model_versions(self, info: Info) -> list[ModelVersionCountNode]:
        versions = await info.context.loaders.model_versions_by_project_id.load(self.pk)
        return [
            ModelVersionCountNode(model_version=v.model_version, count=v.count, latest=utc(v.latest))
            for v in with_project_version(versions, self.model_version)
        ]

    async def _counter(self, info: Info, name: str) -> int:
        """One of Label Studio's counters (core.projects.queries.project_counters), batched per request."""
        counters = await info.context.loaders.project_counters_by_id.load(self.pk)
        return int(counters.get(name) or 0)

    @strawberry.field(description="Number of tasks.")
    async def task_number(self, info: Info) -> int:
        return await self._counter(info, "task_number")

    @strawberry.field(description="Number of tasks with at least one useful annotation (see usefulAnnotationNumber).")
    async def num_tasks_with_annotations(self, info: Info) -> int:
        return await self._counter(info, "num_tasks_with_annotations")

    @strawberry.field(description="Number of annotations that were not skipped (cancelled).")
    async def total_annotations_number(self, info: Info) -> int:
        return await self._counter(info, "total_annotations_number")

    @strawberry.field(description="Number of skipped (cancelled) annotations.")
    async def skipped_annotations_number(self, info: Info) -> int:
        return await self._counter(info, "skipped_annotations_number")

    @strawberry.field(description="Number of predictions.")
    async def total_predictions_number(self, info: Info) -> int:
        return await self._counter(info, "total_predictions_number")

    @strawberry.field(description="Number of ground-truth annotations.")
    async def ground_truth_number(self, info: Info) -> int:
        return await self._counter(info, "ground_truth_number")

    @strawberry.field(description="Number of annotations with a result that are neither skipped nor ground truth.")
    async def useful_annotation_number(self, info: Info) -> int:
        return await self._counter(info, "useful_annotation_number")

    @strawberry.field(description="Number of tasks labeled as often as their overlap asks (isLabeled).")
    async def finished_task_number(self, info: Info) -> int:
        return await self._counter(info, "finished_task_number")
