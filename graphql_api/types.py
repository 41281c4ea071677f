"""Object types. Each is plain data copied from an ORM row (`from_model`, called in the worker
thread that loaded the row); relations resolve through the request's DataLoaders."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.annotations.models import Annotation
from core.organizations.models import Organization
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task
from core.users.models import User
from graphql_api.relay import Connection, Node, PageArgs, make_connection, to_global_id


def utc(value: datetime | None) -> datetime | None:
    """The DB keeps naive UTC; GraphQL clients get an explicit offset."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


@strawberry.type(name="User")
class UserNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    email: str
    username: str
    first_name: str
    last_name: str
    avatar: str | None
    date_joined: datetime
    last_activity: datetime

    @classmethod
    def from_model(cls, user: User) -> "UserNode":
        return cls(
            id=strawberry.ID(to_global_id("User", user.id)),
            pk=user.id,
            email=user.email,
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
            avatar=user.avatar,
            date_joined=utc(user.date_joined),
            last_activity=utc(user.last_activity),
        )


@strawberry.type(name="Organization")
class OrganizationNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    title: str
    contact_info: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, organization: Organization) -> "OrganizationNode":
        return cls(
            id=strawberry.ID(to_global_id("Organization", organization.id)),
            pk=organization.id,
            title=organization.title,
            contact_info=organization.contact_info,
            created_at=utc(organization.created_at),
        )


@strawberry.type(name="Prediction")
class PredictionNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    result: JSON | None
    score: float | None
    model_version: str
    created_at: datetime
    updated_at: datetime
    task_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, prediction: Prediction) -> "PredictionNode":
        return cls(
            id=strawberry.ID(to_global_id("Prediction", prediction.id)),
            pk=prediction.id,
            result=prediction.result,
            score=prediction.score,
            model_version=prediction.model_version,
            created_at=utc(prediction.created_at),
            updated_at=utc(prediction.updated_at),
            task_pk=prediction.task_id,
        )

    @strawberry.field
    async def task(self, info: Info) -> Optional["TaskNode"]:
        return await info.context.loaders.task_by_id.load(self.task_pk)


@strawberry.type(name="Annotation")
class AnnotationNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    result: JSON | None
    was_cancelled: bool
    ground_truth: bool
    lead_time: float | None
    created_at: datetime
    updated_at: datetime
    task_pk: strawberry.Private[int]
    completed_by_pk: strawberry.Private[int | None]
    updated_by_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, annotation: Annotation) -> "AnnotationNode":
        return cls(
            id=strawberry.ID(to_global_id("Annotation", annotation.id)),
            pk=annotation.id,
            result=annotation.result,
            was_cancelled=annotation.was_cancelled,
            ground_truth=annotation.ground_truth,
            lead_time=annotation.lead_time,
            created_at=utc(annotation.created_at),
            updated_at=utc(annotation.updated_at),
            task_pk=annotation.task_id,
            completed_by_pk=annotation.completed_by_id,
            updated_by_pk=annotation.updated_by_id,
        )

    @strawberry.field
    async def task(self, info: Info) -> Optional["TaskNode"]:
        return await info.context.loaders.task_by_id.load(self.task_pk)

    @strawberry.field
    async def completed_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.completed_by_pk) if self.completed_by_pk else None

    @strawberry.field
    async def updated_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.updated_by_pk) if self.updated_by_pk else None


@strawberry.type(name="Task")
class TaskNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    data: JSON
    meta: JSON | None
    inner_id: int | None
    overlap: int
    is_labeled: bool
    total_annotations: int
    cancelled_annotations: int
    total_predictions: int
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    project_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, task: Task) -> "TaskNode":
        return cls(
            id=strawberry.ID(to_global_id("Task", task.id)),
            pk=task.id,
            data=task.data,
            meta=task.meta,
            inner_id=task.inner_id,
            overlap=task.overlap,
            is_labeled=task.is_labeled,
            total_annotations=task.total_annotations,
            cancelled_annotations=task.cancelled_annotations,
            total_predictions=task.total_predictions,
            completed_at=utc(task.completed_at),
            created_at=utc(task.created_at),
            updated_at=utc(task.updated_at),
            project_pk=task.project_id,
        )

    @strawberry.field
    async def project(self, info: Info) -> Optional["ProjectNode"]:
        return await info.context.loaders.project_by_id.load(self.project_pk)

    @strawberry.field
    async def annotations(self, info: Info) -> list[AnnotationNode]:
        return await info.context.loaders.annotations_by_task_id.load(self.pk)

    @strawberry.field
    async def predictions(self, info: Info) -> list[PredictionNode]:
        return await info.context.loaders.predictions_by_task_id.load(self.pk)


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

    @strawberry.field(description="The project's tasks ordered by id.")
    async def tasks(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[TaskNode]:
        page = PageArgs.parse(first, after)
        loaders = info.context.loaders
        nodes, has_next = await loaders.tasks_by_project_id.load((self.pk, page))
        return make_connection(nodes, has_next, lambda: loaders.task_count_by_project_id.load(self.pk))

    async def _counter(self, info: Info, name: str) -> int:
        counters = await info.context.loaders.project_counters_by_id.load(self.pk)
        return int(counters.get(name) or 0)

    @strawberry.field(description="Number of tasks.")
    async def task_number(self, info: Info) -> int:
        return await self._counter(info, "task_number")

    @strawberry.field(description="Number of tasks with at least one completed annotation.")
    async def num_tasks_with_annotations(self, info: Info) -> int:
        return await self._counter(info, "num_tasks_with_annotations")

    @strawberry.field(description="Number of completed (not skipped) annotations.")
    async def total_annotations_number(self, info: Info) -> int:
        return await self._counter(info, "total_annotations_number")

    @strawberry.field(description="Number of skipped annotations.")
    async def skipped_annotations_number(self, info: Info) -> int:
        return await self._counter(info, "skipped_annotations_number")

    @strawberry.field(description="Number of predictions.")
    async def total_predictions_number(self, info: Info) -> int:
        return await self._counter(info, "total_predictions_number")

    @strawberry.field(description="Number of ground-truth annotations.")
    async def ground_truth_number(self, info: Info) -> int:
        return await self._counter(info, "ground_truth_number")

    @strawberry.field(description="Number of annotations with a result that were not skipped.")
    async def useful_annotation_number(self, info: Info) -> int:
        return await self._counter(info, "useful_annotation_number")

    @strawberry.field(description="Number of tasks labeled as often as their overlap asks.")
    async def finished_task_number(self, info: Info) -> int:
        return await self._counter(info, "finished_task_number")
