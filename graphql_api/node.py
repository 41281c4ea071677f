"""`node(id:)`: any object of the caller's organization by its global id."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_api.relay import Node, from_global_id


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object of your organization by its global id; null if there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = from_global_id(id)
        loader = info.context.loaders.by_type_name.get(decoded[0]) if decoded else None
        return await loader.load(decoded[1]) if loader else None
