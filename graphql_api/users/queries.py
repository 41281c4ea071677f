from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.users.batch import member_count, members_page
from graphql_api.relay import Connection, root_connection
from graphql_api.users.types import OrganizationNode, UserNode


@strawberry.type
class UserQueries:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Info) -> UserNode:
        return await info.context.loaders.user_by_id.load(info.context.user_id)

    @strawberry.field(description="The caller's active organization.")
    async def organization(self, info: Info) -> OrganizationNode | None:
        return await info.context.loaders.organization_by_id.load(info.context.core.org_id)

    @strawberry.field(description="Members of your organization ordered by id.")
    async def users(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[UserNode]:
        return await root_connection(info.context, first, after, members_page, member_count, UserNode.from_model)
