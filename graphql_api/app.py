"""The /graphql endpoint: GraphiQL for browsers, authenticated GraphQL over GET and POST, and
subscriptions over websockets (graphql-transport-ws) on the same path."""
from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from core.errors import DomainError
from graphql_api.context import GraphQLContext, open_core_context
from graphql_api.schema import schema


class _GraphQLView(GraphQL):
    """Strawberry's ASGI view, running with the context `GraphQLEndpoint` built for the request.
    A websocket gets its context here and is authenticated by its connection_init message."""

    async def get_context(self, request: Request | WebSocket, response) -> GraphQLContext:
        if isinstance(request, WebSocket):
            context = GraphQLContext(request=request, core=None, user_id=None)
            request.state.graphql_context = context  # GraphQLEndpoint closes its session
            return context
        return request.state.graphql_context

    async def on_ws_connect(self, context: GraphQLContext):
        """connection_init payload `{"Authorization": "Token ..."}` (or "Bearer ..."), else the
        handshake's Authorization header; anything else closes the socket with 4403."""
        params = context.connection_params or {}
        authorization = params.get("Authorization", params.get("authorization"))
        if authorization is not None and not isinstance(authorization, str):
            raise ConnectionRejectionError()
        try:
            context.core, context.user_id = await anyio.to_thread.run_sync(open_core_context, context.request, authorization)
        except DomainError:
            raise ConnectionRejectionError()
        context.reset_loaders()
        return UNSET


# Only graphql-transport-ws: the legacy graphql-ws protocol would run operations before
# connection_init, that is before authentication. Each jobProgress polls the database, so one
# connection may hold only a few at once.
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10
_view = _GraphQLView(
    schema,
    graphql_ide="graphiql",
    subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
)


def _wants_graphiql(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "") and "query" not in request.query_params


async def _close_session(context: GraphQLContext | None) -> None:
    if context is not None and context.core is not None:
        # Even if the client went away and this task is being cancelled.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(context.core.session.close)


class GraphQLEndpoint:
    """ASGI app: authenticates exactly as REST does, opens the request's session, runs the query
    through Strawberry, then closes the session. GraphiQL itself needs no credentials; the
    queries it sends do (set the Authorization header in its headers pane)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            connection = HTTPConnection(scope)
            try:
                await _view(scope, receive, send)
            finally:
                await _close_session(getattr(connection.state, "graphql_context", None))
            return
        request = Request(scope, receive)
        if _wants_graphiql(request):
            response = await _view.render_graphql_ide(request)
            await response(scope, receive, send)
            return
        try:
            core_context, user_id = await anyio.to_thread.run_sync(open_core_context, request)
        except DomainError as exc:
            # Unauthenticated callers get an error and no data, whatever they ask for.
            body = {"data": None, "errors": [{"message": exc.detail, "extensions": {"code": "UNAUTHENTICATED"}}]}
            response = JSONResponse(body, status_code=exc.status_code, headers={"WWW-Authenticate": 'Token realm="api"'})
            await response(scope, receive, send)
            return
        context = GraphQLContext(request=request, core=core_context, user_id=user_id)
        request.state.graphql_context = context  # scope["state"]: the view's own Request sees it
        try:
            await _view(scope, receive, send)
        finally:
            # The response has been sent (no streaming), so the session can go.
            await _close_session(context)


_endpoint = GraphQLEndpoint()
graphql_routes = [
    Route("/graphql", _endpoint, methods=["GET", "POST"], name="graphql"),
    WebSocketRoute("/graphql", _endpoint, name="graphql_ws"),
]
