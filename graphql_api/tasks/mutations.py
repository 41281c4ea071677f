from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.imports import tasks_import
from core.tasks import service
from graphql_api.tasks.types import TaskNode
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class TaskPayload:
    task: TaskNode


@strawberry.type
class ImportTasksPayload:
    task_count: int
    annotation_count: int
    prediction_count: int
    task_ids: list[int] | None = strawberry.field(description="Ids of the created tasks, when asked for with returnTaskIds.")


@strawberry.input
class TaskInput:
    data: JSON | None = strawberry.UNSET
    meta: JSON | None = strawberry.UNSET


@strawberry.input
class ImportTasksOptions:
    commit_to_project: bool = True
    return_task_ids: bool = False
    preannotated_from_fields: list[str] | None = None


def _payload(task) -> TaskPayload:
    return TaskPayload(task=TaskNode.from_model(task))


def _import_payload(result: tasks_import.ImportResult) -> ImportTasksPayload:
    return ImportTasksPayload(
        task_count=result.task_count,
        annotation_count=result.annotation_count or 0,
        prediction_count=result.prediction_count or 0,
        task_ids=result.task_ids,
    )


@strawberry.type
class TaskMutations:
    @strawberry.mutation
    async def create_task(self, info: Info, project_id: strawberry.ID, input: TaskInput) -> result_union("CreateTaskResult", TaskPayload):
        return await run_use_case(
            info,
            lambda ctx: service.create_task(ctx, {**as_dict(input), "project": pk_or_not_found(project_id, "Project")}),
            _payload,
            {"project": "projectId"},
        )

    @strawberry.mutation
    async def update_task(self, info: Info, id: strawberry.ID, input: TaskInput) -> result_union("UpdateTaskResult", TaskPayload):
        return await run_use_case(info, lambda ctx: service.update_task(ctx, pk_or_not_found(id, "Task"), as_dict(input)), _payload)

    @strawberry.mutation
    async def delete_task(self, info: Info, id: strawberry.ID) -> result_union("DeleteTaskResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_task(ctx, pk_or_not_found(id, "Task")), deleted(id))

    @strawberry.mutation(
        description="Import tasks (Label Studio's JSON task format, annotations and predictions included); all or nothing. "
        "From a URL: importFromUrl. File uploads are multipart and stay REST-only: POST /api/projects/{id}/import."
    )
    async def import_tasks(
        self, info: Info, project_id: strawberry.ID, tasks: JSON, options: ImportTasksOptions | None = None
    ) -> result_union("ImportTasksResult", ImportTasksPayload):
        core_options = tasks_import.ImportOptions(**as_dict(options)) if options else None
        return await run_use_case(
            info,
            lambda ctx: tasks_import.import_tasks(ctx, pk_or_not_found(project_id, "Project"), tasks, core_options),
            _import_payload,
        )
