"""The per-request GraphQL context.

Core is synchronous SQLAlchemy; GraphQL resolvers and DataLoaders are async. Every piece of
database work runs in a worker thread (`anyio.to_thread.run_sync`) and, because a Session must
never be used by two threads at once, behind one lock per request: DataLoaders dispatched in the
same tick (say annotations and predictions of one page of tasks) take turns on the session.

ORM objects never leave those threads: the functions passed to `read`/`write` turn them into
Strawberry values (plain data) before returning, so no resolver can trigger a lazy load on the
event loop.

Transactions: reads share the request's session and are rolled back when the request ends.
A websocket connection (subscriptions) is one long "request": authenticated by its
connection_init message, with one session until it closes.
Each mutation field is its own transaction (`write`, core's unit of work): committed when the use
case succeeds, rolled back on any error, with the after-commit hooks fired as REST does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import HTTPConnection

from core.auth.service import sign_in
from core.context import Context
from core.db.unit_of_work import run_in_transaction
from graphql_api.loaders import Loaders

T = TypeVar("T")


@dataclass
class GraphQLContext:
    request: HTTPConnection
    # None only on a websocket whose connection_init has not been accepted yet.
    core: Context | None
    user_id: int | None
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    loaders: Loaders = field(init=False)
    # The connection_init payload of a websocket (Strawberry sets it).
    connection_params: dict | None = None

    def __post_init__(self) -> None:
        self.reset_loaders()

    def reset_loaders(self) -> None:
        """Fresh DataLoaders: after a mutation committed, cached values may be stale."""
        self.loaders = Loaders(self)

    async def read(self, work: Callable[[], T]) -> T:
        """Run `work` (which uses the request's session) in a worker thread, one at a time."""
        async with self.lock:
            return await anyio.to_thread.run_sync(work)

    async def write(self, work: Callable[[], T]) -> T:
        """Run a use case as one transaction (core's unit of work); errors roll it back and propagate."""
        async with self.lock:
            result = await anyio.to_thread.run_sync(run_in_transaction, self.core.session, work)
        self.reset_loaders()
        return result


def open_core_context(request: HTTPConnection, authorization: str | None = None) -> tuple[Context, int]:
    """Authenticate the request exactly as REST does (Token or Bearer; `authorization` or else the
    request's Authorization header) and open its session: (core context, user id). Blocking:
    call it from a worker thread. Raises NotAuthenticated/AuthenticationFailed (the session is
    closed then)."""
    state = request.app.state
    session = state.session_factory()
    try:
        core_context = Context(session=session, settings=state.settings, ports=state.ports)
        sign_in(core_context, authorization if authorization is not None else request.headers.get("authorization"))
        return core_context, core_context.user.id
    except BaseException:
        session.close()
        raise
