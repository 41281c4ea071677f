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


def pages_by_parent_loader(name: str, batch_read: Callable, to_node: Callable) -> type[ContextLoader]:
    """A loader class of pages of children per parent. Key: (parent id, PageArgs) ->
    (nodes of that page, has_next), over `batch_read(session, org_id, parent_ids, first, after_id)
    -> {parent id: (rows, has_next)}`: one read per distinct page request in the batch, usually
    exactly one, since every parent of a page asks for the same `first`/`after`."""

    async def batch_load_fn(self: ContextLoader, keys: Sequence[tuple[int, Any]]) -> list[tuple[list, bool]]:
        parents_by_page: dict[Any, list[int]] = {}
        for parent_id, page in keys:
            parents_by_page.setdefault(page, []).append(parent_id)

        def work():
            pages = {}
            for page, parent_ids in parents_by_page.items():
                found = batch_read(self.session, self.org_id, parent_ids, page.first, page.after_id)
                for parent_id, (rows, has_next) in found.items():
                    pages[(parent_id, page)] = ([to_node(row) for row in rows], has_next)
            return [pages[key] for key in keys]

        return await self.context.read(work)

    return type(name, (ContextLoader,), {"batch_load_fn": batch_load_fn})


def counts_by_parent_loader(name: str, batch_read: Callable) -> type[ContextLoader]:
    """A loader class of child counts per parent over `batch_read(session, org_id, ids) -> {id: n}`."""

    async def batch_load_fn(self: ContextLoader, parent_ids: Sequence[int]) -> list[int]:
        def work():
            counts = batch_read(self.session, self.org_id, list(parent_ids))
            return [counts[pk] for pk in parent_ids]

        return await self.context.read(work)

    return type(name, (ContextLoader,), {"batch_load_fn": batch_load_fn})
