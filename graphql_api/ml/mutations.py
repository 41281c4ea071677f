from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.ml import service
from graphql_api.ml.types import MLBackendNode
from graphql_api.relay import to_global_id
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class MLBackendPayload:
    ml_backend: MLBackendNode


@strawberry.type
class TrainingPayload:
    job_id: strawberry.ID = strawberry.field(description="The job sending START_TRAINING to the backend's /webhook.")


@strawberry.type
class InteractivePredictionPayload:
    data: JSON | None = strawberry.field(description="The backend's first result (Label Studio's `data`).")
    errors: list[str] | None = strawberry.field(description="Why there is no result (e.g. the backend is not interactive).")


@strawberry.input
class MLBackendInput:
    url: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    is_interactive: bool | None = strawberry.UNSET
    auto_update: bool | None = strawberry.UNSET
    model_version: str | None = strawberry.UNSET
    auth_method: str | None = strawberry.UNSET
    basic_auth_user: str | None = strawberry.UNSET
    basic_auth_pass: str | None = strawberry.UNSET
    extra_params: JSON | None = strawberry.UNSET
    timeout: float | None = strawberry.UNSET


def _payload(backend) -> MLBackendPayload:
    return MLBackendPayload(ml_backend=MLBackendNode.from_model(backend))


def _job_payload(job) -> TrainingPayload:
    return TrainingPayload(job_id=strawberry.ID(to_global_id("Job", job.id)))


@strawberry.type
class MLMutations:
    @strawberry.mutation(description="Connect an ML backend to a project: its /health and /setup must answer.")
    async def connect_ml_backend(
        self, info: Info, project_id: strawberry.ID, input: MLBackendInput
    ) -> result_union("ConnectMLBackendResult", MLBackendPayload):
        return await run_use_case(
            info,
            lambda ctx: service.create_ml_backend(ctx, {**as_dict(input), "project": pk_or_not_found(project_id, "Project")}),
            _payload,
            {"project": "projectId"},
        )

    @strawberry.mutation
    async def update_ml_backend(
        self, info: Info, id: strawberry.ID, input: MLBackendInput
    ) -> result_union("UpdateMLBackendResult", MLBackendPayload):
        return await run_use_case(
            info, lambda ctx: service.update_ml_backend(ctx, pk_or_not_found(id, "MLBackend"), as_dict(input)), _payload
        )

    @strawberry.mutation
    async def delete_ml_backend(self, info: Info, id: strawberry.ID) -> result_union("DeleteMLBackendResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_ml_backend(ctx, pk_or_not_found(id, "MLBackend")), deleted(id))

    @strawberry.mutation(description="Send the backend a training signal (from a job).")
    async def train_ml_backend(self, info: Info, id: strawberry.ID) -> result_union("TrainMLBackendResult", TrainingPayload):
        return await run_use_case(info, lambda ctx: service.request_training(ctx, pk_or_not_found(id, "MLBackend")), _job_payload)

    @strawberry.mutation(description="Ask an interactive backend for a region from the annotator's context (synchronous).")
    async def predict_interactive(
        self, info: Info, id: strawberry.ID, task_id: strawberry.ID, context: JSON | None = None
    ) -> result_union("PredictInteractiveResult", InteractivePredictionPayload):
        def use_case(ctx):
            task = pk_or_not_found(task_id, "Task")
            return service.predict_interactive(ctx, pk_or_not_found(id, "MLBackend"), {"task": task, "context": context})

        return await run_use_case(
            info, use_case, lambda answer: InteractivePredictionPayload(data=answer.get("data"), errors=answer.get("errors")),
            {"task": "taskId"},
        )
