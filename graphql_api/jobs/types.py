from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.jobs import models
from core.jobs.models import Job
from graphql_api.relay import Node, to_global_id
from graphql_api.timestamps import utc

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


@strawberry.enum(description="A job's state: queued -> running -> completed | failed.")
class JobStatus(Enum):
    QUEUED = models.QUEUED
    RUNNING = models.RUNNING
    COMPLETED = models.COMPLETED
    FAILED = models.FAILED


@strawberry.type(name="Job", description="A long job run by the workers (import, export, conversion, Data Manager action, ...).")
class JobNode(Node):
    pk: int = strawberry.field(description="The numeric id.")
    kind: str = strawberry.field(description='What the job does: "import", "export", "export_convert", "dm_action", ...')
    status: JobStatus
    progress_done: int = strawberry.field(description="Items done so far.")
    progress_total: int | None = strawberry.field(description="Items to do, once the job knows.")
    error: str | None = strawberry.field(description="Why the job failed.")
    result: JSON | None = strawberry.field(description="What the job produced (its kind's summary), once completed.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    project_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, job: Job) -> "JobNode":
        return cls(
            id=strawberry.ID(to_global_id("Job", job.id)),
            pk=job.id,
            kind=job.kind,
            status=JobStatus(job.status),
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            error=job.error,
            result=job.result,
            created_at=utc(job.created_at),
            started_at=utc(job.started_at),
            finished_at=utc(job.finished_at),
            project_pk=job.project_id,
        )

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)

    @strawberry.field
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk) if self.project_pk else None


async def job_field(info: Info, job_pk: int | None) -> JobNode | None:
    """The job behind an import, export or conversion, batched per request."""
    return await info.context.loaders.job_by_id.load(job_pk) if job_pk else None
