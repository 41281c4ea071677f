from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.predictions.models import Prediction
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc

if TYPE_CHECKING:
    from graphql_api.tasks.types import TaskNode


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
    async def task(self, info: Info) -> Annotated["TaskNode", strawberry.lazy("graphql_api.tasks.types")] | None:
        return await info.context.loaders.task_by_id.load(self.task_pk)
