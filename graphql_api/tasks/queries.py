from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.relay import pk_of
from graphql_api.tasks.types import TaskNode


@strawberry.type
class TaskQueries:
    @strawberry.field
    async def task(self, info: Info, id: strawberry.ID) -> TaskNode | None:
        pk = pk_of(id, "Task")
        return await info.context.loaders.task_by_id.load(pk) if pk is not None else None
