from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.tasks.models import Task
from graphql_api.annotations.types import AnnotationNode
from graphql_api.predictions.types import PredictionNode
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


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
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk)

    @strawberry.field
    async def annotations(self, info: Info) -> list[AnnotationNode]:
        return await info.context.loaders.annotations_by_task_id.load(self.pk)

    @strawberry.field
    async def predictions(self, info: Info) -> list[PredictionNode]:
        return await info.context.loaders.predictions_by_task_id.load(self.pk)
