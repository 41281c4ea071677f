"""Mutations: each is a thin shell over the core use case REST calls, run as one transaction.
Expected failures (core ValidationError, NotFound, PermissionDenied) come back as values of the
result union; input fields map one to one onto the core services' dict keys (camelCase here,
snake_case there), and only the fields a client sent are passed on."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Callable, TypeVar, Union

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.annotations import service as annotation_service
from core.context import Context
from core.errors import DomainError, NotFound
from core.predictions import service as prediction_service
from core.projects import service as project_service
from core.tasks import service as task_service
from graphql_api.errors import NotFoundError, PermissionDeniedError, ValidationError, error_value
from graphql_api.relay import pk_of
from graphql_api.types import AnnotationNode, PredictionNode, ProjectNode, TaskNode

T = TypeVar("T")


def _result_union(name: str, payload: type) -> Any:
    return Annotated[Union[payload, ValidationError, NotFoundError, PermissionDeniedError], strawberry.union(name)]


def as_dict(value: Any) -> dict[str, Any]:
    """The fields a client sent, keyed as the core services expect; times as ISO strings."""
    sent = {}
    for item in dataclasses.fields(value):
        field_value = getattr(value, item.name)
        if field_value is strawberry.UNSET:
            continue
        sent[item.name] = field_value.isoformat() if isinstance(field_value, datetime) else field_value
    return sent


def pk_or_not_found(global_id: strawberry.ID, type_name: str) -> int:
    pk = pk_of(global_id, type_name)
    if pk is None:
        raise NotFound()
    return pk


async def run_use_case(
    info: Info, use_case: Callable[[Context], T], to_payload: Callable[[T], Any], field_names: dict[str, str] | None = None
) -> Any:
    """Run `use_case` in its own transaction; its expected errors become union values.
    `field_names` renames the core's field names where GraphQL's argument differs (task -> taskId)."""
    context = info.context
    try:
        return await context.write(lambda: to_payload(use_case(context.core)))
    except DomainError as exc:
        return error_value(exc, field_names or {})


# Payloads


@strawberry.type
class ProjectPayload:
    project: ProjectNode


@strawberry.type
class TaskPayload:
    task: TaskNode


@strawberry.type
class AnnotationPayload:
    annotation: AnnotationNode


@strawberry.type
class PredictionPayload:
    prediction: PredictionNode


@strawberry.type(description="The global id of the object that was deleted.")
class DeletePayload:
    deleted_id: strawberry.ID


@strawberry.type
class ImportTasksPayload:
    task_count: int
    annotation_count: int
    prediction_count: int
    task_ids: list[int] | None = strawberry.field(description="Ids of the created tasks, when asked for with returnTaskIds.")


# Inputs


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


@strawberry.input
class TaskInput:
    data: JSON | None = strawberry.UNSET
    meta: JSON | None = strawberry.UNSET


@strawberry.input
class AnnotationInput:
    result: JSON | None = strawberry.UNSET
    was_cancelled: bool | None = strawberry.UNSET
    ground_truth: bool | None = strawberry.UNSET
    lead_time: float | None = strawberry.UNSET


@strawberry.input
class PredictionInput:
    result: JSON | None = strawberry.UNSET
    score: float | None = strawberry.UNSET
    model_version: str | None = strawberry.UNSET


@strawberry.input
class ImportTasksOptions:
    commit_to_project: bool = True
    return_task_ids: bool = False
    preannotated_from_fields: list[str] | None = None


def _project_payload(project) -> ProjectPayload:
    return ProjectPayload(project=ProjectNode.from_model(project))


def _task_payload(task) -> TaskPayload:
    return TaskPayload(task=TaskNode.from_model(task))


def _annotation_payload(annotation) -> AnnotationPayload:
    return AnnotationPayload(annotation=AnnotationNode.from_model(annotation))


def _prediction_payload(prediction) -> PredictionPayload:
    return PredictionPayload(prediction=PredictionNode.from_model(prediction))


def _import_payload(result: task_service.ImportResult) -> ImportTasksPayload:
    return ImportTasksPayload(
        task_count=result.task_count,
        annotation_count=result.annotation_count or 0,
        prediction_count=result.prediction_count or 0,
        task_ids=result.task_ids,
    )


def _deleted(global_id: strawberry.ID) -> Callable[[None], DeletePayload]:
    return lambda _: DeletePayload(deleted_id=global_id)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_project(self, info: Info, input: ProjectInput) -> _result_union("CreateProjectResult", ProjectPayload):
        return await run_use_case(info, lambda ctx: project_service.create_project(ctx, as_dict(input)), _project_payload)

    @strawberry.mutation
    async def update_project(
        self, info: Info, id: strawberry.ID, input: ProjectInput
    ) -> _result_union("UpdateProjectResult", ProjectPayload):
        return await run_use_case(
            info, lambda ctx: project_service.update_project(ctx, pk_or_not_found(id, "Project"), as_dict(input)), _project_payload
        )

    @strawberry.mutation
    async def delete_project(self, info: Info, id: strawberry.ID) -> _result_union("DeleteProjectResult", DeletePayload):
        return await run_use_case(info, lambda ctx: project_service.delete_project(ctx, pk_or_not_found(id, "Project")), _deleted(id))

    @strawberry.mutation
    async def create_task(
        self, info: Info, project_id: strawberry.ID, input: TaskInput
    ) -> _result_union("CreateTaskResult", TaskPayload):
        return await run_use_case(
            info,
            lambda ctx: task_service.create_task(ctx, {**as_dict(input), "project": pk_or_not_found(project_id, "Project")}),
            _task_payload,
            {"project": "projectId"},
        )

    @strawberry.mutation
    async def update_task(self, info: Info, id: strawberry.ID, input: TaskInput) -> _result_union("UpdateTaskResult", TaskPayload):
        return await run_use_case(
            info, lambda ctx: task_service.update_task(ctx, pk_or_not_found(id, "Task"), as_dict(input)), _task_payload
        )

    @strawberry.mutation
    async def delete_task(self, info: Info, id: strawberry.ID) -> _result_union("DeleteTaskResult", DeletePayload):
        return await run_use_case(info, lambda ctx: task_service.delete_task(ctx, pk_or_not_found(id, "Task")), _deleted(id))

    @strawberry.mutation(description="Import tasks (Label Studio's JSON task format, annotations and predictions included).")
    async def import_tasks(
        self, info: Info, project_id: strawberry.ID, tasks: JSON, options: ImportTasksOptions | None = None
    ) -> _result_union("ImportTasksResult", ImportTasksPayload):
        core_options = task_service.ImportOptions(**as_dict(options)) if options else None
        return await run_use_case(
            info,
            lambda ctx: task_service.import_tasks(ctx, pk_or_not_found(project_id, "Project"), tasks, core_options),
            _import_payload,
        )

    @strawberry.mutation
    async def create_annotation(
        self, info: Info, task_id: strawberry.ID, input: AnnotationInput
    ) -> _result_union("CreateAnnotationResult", AnnotationPayload):
        return await run_use_case(
            info,
            lambda ctx: annotation_service.create_annotation(ctx, pk_or_not_found(task_id, "Task"), as_dict(input)),
            _annotation_payload,
        )

    @strawberry.mutation
    async def update_annotation(
        self, info: Info, id: strawberry.ID, input: AnnotationInput
    ) -> _result_union("UpdateAnnotationResult", AnnotationPayload):
        return await run_use_case(
            info,
            lambda ctx: annotation_service.update_annotation(ctx, pk_or_not_found(id, "Annotation"), as_dict(input)),
            _annotation_payload,
        )

    @strawberry.mutation
    async def delete_annotation(self, info: Info, id: strawberry.ID) -> _result_union("DeleteAnnotationResult", DeletePayload):
        return await run_use_case(
            info, lambda ctx: annotation_service.delete_annotation(ctx, pk_or_not_found(id, "Annotation")), _deleted(id)
        )

    @strawberry.mutation
    async def create_prediction(
        self, info: Info, task_id: strawberry.ID, input: PredictionInput
    ) -> _result_union("CreatePredictionResult", PredictionPayload):
        return await run_use_case(
            info,
            lambda ctx: prediction_service.create_prediction(ctx, {**as_dict(input), "task": pk_or_not_found(task_id, "Task")}),
            _prediction_payload,
            {"task": "taskId"},
        )

    @strawberry.mutation
    async def update_prediction(
        self, info: Info, id: strawberry.ID, input: PredictionInput
    ) -> _result_union("UpdatePredictionResult", PredictionPayload):
        return await run_use_case(
            info,
            lambda ctx: prediction_service.update_prediction(ctx, pk_or_not_found(id, "Prediction"), as_dict(input)),
            _prediction_payload,
        )

    @strawberry.mutation
    async def delete_prediction(self, info: Info, id: strawberry.ID) -> _result_union("DeletePredictionResult", DeletePayload):
        return await run_use_case(
            info, lambda ctx: prediction_service.delete_prediction(ctx, pk_or_not_found(id, "Prediction")), _deleted(id)
        )
