"""Root query fields: thin resolvers over loaders and core batch reads."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.projects.batch import project_count, projects_page
from core.users.batch import member_count, members_page
from graphql_api.relay import Connection, Node, PageArgs, from_global_id, make_connection, pk_of
from graphql_api.types import OrganizationNode, ProjectNode, TaskNode, UserNode


def _node_loaders(info: Info) -> dict:
    loaders = info.context.loaders
    return {
        "Project": loaders.project_by_id,
        "Task": loaders.task_by_id,
        "Annotation": loaders.annotation_by_id,
        "Prediction": loaders.prediction_by_id,
        "User": loaders.user_by_id,
        "Organization": loaders.organization_by_id,
    }


async def _page(info: Info, first: int | None, after: str | None, read_page, read_count, to_node) -> Connection:
    """A root connection: one keyset page read, the count read only if asked for."""
    context = info.context
    page = PageArgs.parse(first, after)
    org_id = context.core.org_id

    def work():
        rows, has_next = read_page(context.core.session, org_id, page.first, page.after_id)
        return [to_node(row) for row in rows], has_next

    nodes, has_next = await context.read(work)
    return make_connection(nodes, has_next, lambda: context.read(lambda: read_count(context.core.session, org_id)))


@strawberry.type
class Query:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Info) -> UserNode:
        return await info.context.loaders.user_by_id.load(info.context.user_id)

    @strawberry.field(description="The caller's active organization.")
    async def organization(self, info: Info) -> OrganizationNode | None:
        return await info.context.loaders.organization_by_id.load(info.context.core.org_id)

    @strawberry.field(description="Any object of your organization by its global id; null if there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(id)
        loader = _node_loaders(info).get(decoded[0]) if decoded else None
        return await loader.load(decoded[1]) if loader else None

    @strawberry.field(description="Your organization's projects ordered by id.")
    async def projects(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ProjectNode]:
        return await _page(info, first, after, projects_page, project_count, ProjectNode.from_model)

    @strawberry.field
    async def project(self, info: Info, id: strawberry.ID) -> ProjectNode | None:
        pk = pk_of(id, "Project")
        return await info.context.loaders.project_by_id.load(pk) if pk is not None else None

    @strawberry.field
    async def task(self, info: Info, id: strawberry.ID) -> TaskNode | None:
        pk = pk_of(id, "Task")
        return await info.context.loaders.task_by_id.load(pk) if pk is not None else None

    @strawberry.field(description="Members of your organization ordered by id.")
    async def users(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[UserNode]:
        return await _page(info, first, after, members_page, member_count, UserNode.from_model)
