from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.projects.batch import project_count, projects_page
from graphql_api.projects.types import ProjectNode
from graphql_api.relay import Connection, pk_of, root_connection


@strawberry.type
class ProjectQueries:
    @strawberry.field(description="Your organization's projects ordered by id.")
    async def projects(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ProjectNode]:
        return await root_connection(info.context, first, after, projects_page, project_count, ProjectNode.from_model)

    @strawberry.field
    async def project(self, info: Info, id: strawberry.ID) -> ProjectNode | None:
        pk = pk_of(id, "Project")
        return await info.context.loaders.project_by_id.load(pk) if pk is not None else None
