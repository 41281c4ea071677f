from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.exports import models
from core.exports.models import ConvertedFormat, Export
from graphql_api.jobs.types import JobNode, job_field
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc
from graphql_api.users.types import UserNode

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


@strawberry.enum(description="Label Studio's snapshot and conversion states.")
class ExportStatus(Enum):
    CREATED = models.CREATED
    IN_PROGRESS = models.IN_PROGRESS
    COMPLETED = models.COMPLETED
    FAILED = models.FAILED


def download_url(project_id: int, export_id: int, export_type: str | None = None) -> str:
    """The REST download path (relative to the server; send the same Authorization header)."""
    path = f"/api/projects/{project_id}/exports/{export_id}/download"
    return path if export_type is None else f"{path}?exportType={quote(export_type)}"


@strawberry.type(name="ConvertedFormat", description="A snapshot converted to another format by an export_convert job.")
class ConvertedFormatNode:
    pk: int
    export_type: str
    status: ExportStatus
    traceback: str | None
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None = strawberry.field(description="REST URL of the converted file, once completed.")
    job_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, converted: ConvertedFormat) -> "ConvertedFormatNode":
        completed = converted.status == models.COMPLETED
        return cls(
            pk=converted.id,
            export_type=converted.export_type,
            status=ExportStatus(converted.status),
            traceback=converted.traceback,
            created_at=utc(converted.created_at),
            finished_at=utc(converted.finished_at),
            download_url=download_url(converted.project_id, converted.export_id, converted.export_type) if completed else None,
            job_pk=converted.job_id,
        )

    @strawberry.field
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.job_pk)


@strawberry.type(name="ExportSnapshot", description="A JSON export of a project written by an export job (/api/projects/{id}/exports/).")
class ExportSnapshotNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API.")
    title: str
    status: ExportStatus
    md5: str
    counters: JSON
    options: JSON = strawberry.field(description="task_filter_options, annotation_filter_options and serialization_options it was made with.")
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None = strawberry.field(description="REST URL of the JSON file, once completed (send the same Authorization header).")
    project_pk: strawberry.Private[int]
    created_by_pk: strawberry.Private[int | None]
    job_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, export: Export) -> "ExportSnapshotNode":
        completed = export.status == models.COMPLETED
        return cls(
            id=strawberry.ID(to_global_id("ExportSnapshot", export.id)),
            pk=export.id,
            title=export.title,
            status=ExportStatus(export.status),
            md5=export.md5,
            counters=export.counters or {},
            options=export.options or {},
            created_at=utc(export.created_at),
            finished_at=utc(export.finished_at),
            download_url=download_url(export.project_id, export.id) if completed and export.file else None,
            project_pk=export.project_id,
            created_by_pk=export.created_by_id,
            job_pk=export.job_id,
        )

    @strawberry.field
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk)

    @strawberry.field
    async def created_by(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.created_by_pk) if self.created_by_pk else None

    @strawberry.field(description="The export job that writes the snapshot.")
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.job_pk)

    @strawberry.field
    async def converted_formats(self, info: Info) -> list[ConvertedFormatNode]:
        return await info.context.loaders.converted_formats_by_export_id.load(self.pk)


@strawberry.type(description="An export format (GET /api/projects/{id}/export/formats).")
class ExportFormat:
    name: str
    title: str
    description: str
    link: str | None
    tags: list[str]
    disabled: bool = strawberry.field(description="True when the project's labeling config cannot be exported in this format.")

    @classmethod
    def from_info(cls, info: dict) -> "ExportFormat":
        return cls(
            name=info["name"], title=info["title"], description=info["description"], link=info.get("link"),
            tags=list(info.get("tags") or []), disabled=bool(info.get("disabled", False)),
        )
