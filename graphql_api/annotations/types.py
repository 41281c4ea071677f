from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.annotations.models import Annotation
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc
from graphql_api.users.types import UserNode

if TYPE_CHECKING:
    from graphql_api.tasks.types import TaskNode


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
    async def task(self, info: Info) -> Annotated["TaskNode", strawberry.lazy("graphql_api.tasks.types")] | None:
        return await info.context.loaders.task_by_id.load(self.task_pk)

    @strawberry.field
    async def completed_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.completed_by_pk) if self.completed_by_pk else None

    @strawberry.field
    async def updated_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.updated_by_pk) if self.updated_by_pk else None
