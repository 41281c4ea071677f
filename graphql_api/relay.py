"""Relay plumbing: global ids, the Node interface, cursor connections with keyset cursors."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable, Generic, TypeVar

import strawberry

from core.organizations.queries import MAX_ID
from graphql_api.errors import BadRequest

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext

# Largest page a client may ask for with `first`; bigger requests are refused, not truncated.
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _row_id(text: str) -> int | None:
    """The id in a global id or cursor: plain digits naming a possible row (larger numbers would
    overflow the database driver), else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def from_global_id(global_id: str) -> tuple[str, int] | None:
    """("Project", 12) for a valid global id, None for anything malformed or out of range."""
    try:
        type_name, _, pk = base64.b64decode(global_id, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    row_id = _row_id(pk)
    return (type_name, row_id) if row_id is not None else None


def pk_of(global_id: str, type_name: str) -> int | None:
    """The numeric id inside a global id of `type_name`; None if it names another type or is malformed."""
    decoded = from_global_id(global_id)
    return decoded[1] if decoded is not None and decoded[0] == type_name else None


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID = strawberry.field(description="Global id: base64 of `Type:pk`.")


# Cursors are opaque to clients; inside they carry the id of the row, so pages are keyset reads.
def cursor_for(pk: int) -> str:
    return base64.b64encode(f"cursor:{pk}".encode()).decode()


def pk_after(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        prefix, _, pk = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix == "cursor" and (row_id := _row_id(pk)) is not None:
            return row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest(f"Invalid cursor: {cursor!r}.")


# Offset cursors, for orderings a keyset cannot follow (Data Manager filters and orderings by
# computed columns): they carry the position of the row in the ordered list.
def offset_cursor(position: int) -> str:
    return base64.b64encode(f"offset:{position}".encode()).decode()


def offset_after(cursor: str | None) -> int:
    """The number of rows before the page that follows `cursor` (0 without one)."""
    if cursor is None:
        return 0
    try:
        prefix, _, position = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix == "offset" and position.isascii() and position.isdigit() and int(position) <= MAX_ID:
            return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest(f"Invalid cursor: {cursor!r} (a filtered or ordered list takes the cursors it returned).")


def checked_page_size(first: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"`first` must be between 0 and {MAX_PAGE_SIZE}.")
    return size


@dataclass(frozen=True)
class PageArgs:
    """`first`/`after` validated and decoded; hashable, so it can be part of a DataLoader key."""

    first: int
    after_id: int | None

    @classmethod
    def parse(cls, first: int | None, after: str | None) -> "PageArgs":
        return cls(checked_page_size(first), pk_after(after))


@strawberry.type
class PageInfo:
    has_next_page: bool
    # Only forward pagination (first/after) is offered, so earlier pages are never reported.
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


NodeType = TypeVar("NodeType")


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo
    # Counted only when the client asks for totalCount.
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole connection, not just this page.")
    async def total_count(self) -> int:
        return await self.count()


def make_connection(
    nodes: list, has_next: bool, count: Callable[[], Awaitable[int]], cursors: list[str] | None = None
) -> Connection:
    """Keyset cursors (the node's pk) unless `cursors` are given."""
    if cursors is None:
        cursors = [cursor_for(node.pk) for node in nodes]
    edges = [Edge(cursor=cursor, node=node) for cursor, node in zip(cursors, nodes)]
    page_info = PageInfo(
        has_next_page=has_next,
        has_previous_page=False,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(edges=edges, page_info=page_info, count=count)


async def root_connection(context: "GraphQLContext", first: int | None, after: str | None, read_page, read_count, to_node) -> Connection:
    """A top-level connection over `read_page(session, org_id, first, after_id) -> (rows, has_next)`;
    `read_count(session, org_id)` runs only if the client asks for totalCount."""
    page = PageArgs.parse(first, after)
    session, org_id = context.core.session, context.core.org_id

    def work():
        rows, has_next = read_page(session, org_id, page.first, page.after_id)
        return [to_node(row) for row in rows], has_next

    nodes, has_next = await context.read(work)
    return make_connection(nodes, has_next, lambda: context.read(lambda: read_count(session, org_id)))
