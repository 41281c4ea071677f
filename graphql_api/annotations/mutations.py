from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.annotations import service
from graphql_api.annotations.types import AnnotationNode
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class AnnotationPayload:
    annotation: AnnotationNode


@strawberry.input
class AnnotationInput:
    result: JSON | None = strawberry.UNSET
    was_cancelled: bool | None = strawberry.UNSET
    ground_truth: bool | None = strawberry.UNSET
    lead_time: float | None = strawberry.UNSET


def _payload(annotation) -> AnnotationPayload:
    return AnnotationPayload(annotation=AnnotationNode.from_model(annotation))


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(description="Annotate a task as the caller.")
    async def create_annotation(
        self, info: Info, task_id: strawberry.ID, input: AnnotationInput
    ) -> result_union("CreateAnnotationResult", AnnotationPayload):
        return await run_use_case(
            info, lambda ctx: service.create_annotation(ctx, pk_or_not_found(task_id, "Task"), as_dict(input)), _payload
        )

    @strawberry.mutation
    async def update_annotation(
        self, info: Info, id: strawberry.ID, input: AnnotationInput
    ) -> result_union("UpdateAnnotationResult", AnnotationPayload):
        return await run_use_case(
            info, lambda ctx: service.update_annotation(ctx, pk_or_not_found(id, "Annotation"), as_dict(input)), _payload
        )

    @strawberry.mutation
    async def delete_annotation(self, info: Info, id: strawberry.ID) -> result_union("DeleteAnnotationResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_annotation(ctx, pk_or_not_found(id, "Annotation")), deleted(id))
