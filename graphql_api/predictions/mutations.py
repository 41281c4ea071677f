from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.predictions import service
from graphql_api.predictions.types import PredictionNode
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class PredictionPayload:
    prediction: PredictionNode


@strawberry.input
class PredictionInput:
    result: JSON | None = strawberry.UNSET
    score: float | None = strawberry.UNSET
    model_version: str | None = strawberry.UNSET


def _payload(prediction) -> PredictionPayload:
    return PredictionPayload(prediction=PredictionNode.from_model(prediction))


@strawberry.type
class PredictionMutations:
    @strawberry.mutation
    async def create_prediction(
        self, info: Info, task_id: strawberry.ID, input: PredictionInput
    ) -> result_union("CreatePredictionResult", PredictionPayload):
        return await run_use_case(
            info,
            lambda ctx: service.create_prediction(ctx, {**as_dict(input), "task": pk_or_not_found(task_id, "Task")}),
            _payload,
            {"task": "taskId"},
        )

    @strawberry.mutation
    async def update_prediction(
        self, info: Info, id: strawberry.ID, input: PredictionInput
    ) -> result_union("UpdatePredictionResult", PredictionPayload):
        return await run_use_case(
            info, lambda ctx: service.update_prediction(ctx, pk_or_not_found(id, "Prediction"), as_dict(input)), _payload
        )

    @strawberry.mutation
    async def delete_prediction(self, info: Info, id: strawberry.ID) -> result_union("DeletePredictionResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_prediction(ctx, pk_or_not_found(id, "Prediction")), deleted(id))
