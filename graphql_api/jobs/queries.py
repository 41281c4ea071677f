from __future__ import annotations

from typing import AsyncGenerator

import anyio
import strawberry
from strawberry.types import Info

from core.errors import NotFound
from core.jobs.service import get_job
from graphql_api.jobs.types import JobNode
from graphql_api.relay import pk_of

# How often jobProgress looks at the job row: the database is the source of truth for job state.
POLL_INTERVAL_SECONDS = 0.3


@strawberry.type
class JobQueries:
    @strawberry.field(description="A job of your organization; null if there is none.")
    async def job(self, info: Info, id: strawberry.ID) -> JobNode | None:
        pk = pk_of(id, "Job")
        return await info.context.loaders.job_by_id.load(pk) if pk is not None else None


def _state(node: JobNode) -> tuple:
    return (node.status, node.progress_done, node.progress_total, node.error, node.result, node.started_at, node.finished_at)


@strawberry.type
class JobSubscriptions:
    @strawberry.subscription(
        description="The job's state now and after every change, until it is completed or failed. "
        "A single null (then the end) when your organization has no such job."
    )
    async def job_progress(self, info: Info, id: strawberry.ID) -> AsyncGenerator[JobNode | None, None]:
        context = info.context
        pk = pk_of(id, "Job")

        def read() -> JobNode | None:
            try:
                return JobNode.from_model(get_job(context.core, pk)) if pk is not None else None
            except NotFound:
                return None
            finally:
                # End the read transaction: the next poll must see the workers' new commits
                # (an open SQLite read transaction would keep showing the old snapshot).
                context.core.session.rollback()

        previous = None
        while True:
            node = await context.read(read)
            if node is None:
                yield None
                return
            if _state(node) != previous:
                previous = _state(node)
                yield node
            if node.is_finished:
                return
            await anyio.sleep(POLL_INTERVAL_SECONDS)
