"""Base of every DataLoader: bound to the request's context, batch reads run through `context.read`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from aiodataloader import DataLoader
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext


class ContextLoader(DataLoader):
    def __init__(self, context: "GraphQLContext"):
        super().__init__()
        self.context = context

    @property
    def org_id(self) -> int:
        return self.context.core.org_id

    @property
    def session(self) -> Session:
        return self.context.core.session


def by_id_loader(name: str, batch_read: Callable, to_node: Callable) -> type[ContextLoader]:
    """A loader class of single objects by id over `batch_read(session, org_id, ids) -> {id: row}`;
    ids outside the caller's organization load as None."""

    async def batch_load_fn(self: ContextLoader, ids: Sequence[int]) -> list[Any]:
        def work():
            rows = batch_read(self.session, self.org_id, list(ids))
            return [to_node(rows[pk]) if pk in rows else None for pk in ids]

        return await self.context.read(work)

    return type(name, (ContextLoader,), {"batch_load_fn": batch_load_fn})
