from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.errors import NotFound
from core.ml import queries
from graphql_api.ml.types import MLBackendNode
from graphql_api.relay import pk_of


@strawberry.type
class MLQueries:
    @strawberry.field(description="A project's ML backends by id (empty for a project you cannot see). Like the "
                      "REST list, a backend whose cached health is stale is asked for its state.")
    async def ml_backends(self, info: Info, project_id: strawberry.ID) -> list[MLBackendNode]:
        context = info.context
        project = pk_of(project_id, "Project")
        if project is None:
            return []

        def work():
            try:
                return [MLBackendNode.from_model(b) for b in queries.list_ml_backends(context.core, project)]
            except NotFound:
                return []

        # A stale state is refreshed and saved, so this read runs as a transaction.
        return await context.write(work)
