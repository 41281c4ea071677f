from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.context import Context
from core.imports import service as file_imports
from core.imports.tasks_import import ImportOptions
from core.tasks.models import ProjectImport
from graphql_api.jobs.types import JobNode, job_field
from graphql_api.tasks.mutations import ImportTasksOptions
from graphql_api.timestamps import utc
from graphql_api.use_case import as_dict, pk_or_not_found, result_union, run_use_case


@strawberry.type(name="ProjectImport", description="One import into a project (GET /api/projects/{id}/imports/{pk}/).")
class ProjectImportNode:
    pk: int
    status: str = strawberry.field(description="created -> in_progress -> completed | failed, as Label Studio reports it.")
    error: str | None
    url: str | None
    task_count: int
    annotation_count: int
    prediction_count: int
    duration: float | None
    task_ids: list[int] | None = strawberry.field(description="Created task ids, when asked for with returnTaskIds.")
    created_at: datetime
    finished_at: datetime | None
    job_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, project_import: ProjectImport) -> "ProjectImportNode":
        return cls(
            pk=project_import.id,
            status=project_import.status,
            error=project_import.error,
            url=project_import.url,
            task_count=project_import.task_count or 0,
            annotation_count=project_import.annotation_count or 0,
            prediction_count=project_import.prediction_count or 0,
            duration=project_import.duration,
            task_ids=list(project_import.task_ids) if project_import.return_task_ids and project_import.task_ids else None,
            created_at=utc(project_import.created_at),
            finished_at=utc(project_import.finished_at),
            job_pk=project_import.job_id,
        )

    @strawberry.field(description="The job importing the tasks when the file was too big for the request; null otherwise.")
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.job_pk)


@strawberry.type
class ImportFromUrlPayload:
    project_import: ProjectImportNode = strawberry.field(name="import")


def _import_from_url(ctx: Context, project_id: strawberry.ID, url: str, options: ImportTasksOptions | None) -> ProjectImport:
    core_options = ImportOptions(**as_dict(options)) if options else ImportOptions()
    outcome = file_imports.import_url(ctx, pk_or_not_found(project_id, "Project"), url, core_options)
    if isinstance(outcome, file_imports.ImportStarted):
        return outcome.project_import
    return ctx.session.get(ProjectImport, outcome.import_id)


@strawberry.type
class ImportMutations:
    @strawberry.mutation(
        description="Import tasks from a file at a URL (JSON, CSV, TSV, TXT, ...; as REST url= imports, under the outgoing-URL "
        "policy). Small files are imported in the request (status completed); bigger ones by a job (see import.job). "
        "File uploads are multipart and stay REST-only: POST /api/projects/{id}/import."
    )
    async def import_from_url(
        self, info: Info, project_id: strawberry.ID, url: str, options: ImportTasksOptions | None = None
    ) -> result_union("ImportFromUrlResult", ImportFromUrlPayload):
        return await run_use_case(
            info,
            lambda ctx: _import_from_url(ctx, project_id, url, options),
            lambda project_import: ImportFromUrlPayload(project_import=ProjectImportNode.from_model(project_import)),
        )
