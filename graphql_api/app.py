"""The /graphql endpoint: GraphiQL for browsers, authenticated GraphQL over GET and POST, and
subscriptions over websockets (graphql-transport-ws) on the same path."""
from __future__ import annotations

from pathlib import Path

import anyio
import anyio.to_thread
import orjson
from cross_web import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.unset import UNSET

from core.errors import DomainError
from graphql_api.context import GraphQLContext, open_core_context
from graphql_api.limits import query_length_error
from graphql_api.schema import schema


class _TransportWSHandler(BaseGraphQLTransportWSHandler):
    """Refuses an over-long document before Strawberry parses it on the event loop."""

    async def handle_subscribe(self, message) -> None:
        payload = message.get("payload")
        error = query_length_error(payload.get("query")) if isinstance(payload, dict) else None
        if error is not None and self.connection_acknowledged:
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        await super().handle_subscribe(message)


class _GraphQLView(GraphQL):
    """Strawberry's ASGI view, running with the context `GraphQLEndpoint` built for the request.
    A websocket gets its context here and is authenticated by its connection_init message."""

    graphql_transport_ws_handler_class = _TransportWSHandler

    def decode_json(self, data: str | bytes) -> object:
        # As REST bodies: orjson refuses JSON nested over 1024 deep (json.loads overflows the stack).
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> object:
        """POST bodies and GET `variables`/`extensions`; websocket messages go through decode_json."""
        try:
            return self.decode_json(data)
        except orjson.JSONDecodeError as exc:
            raise HTTPException(400, f"JSON parse error - {exc}") from exc

    async def parse_http_body(self, request):
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if (error := query_length_error(item.query)) is not None:
                raise HTTPException(400, error.message)
        return data

    async def run(self, request, context=UNSET, root_value=UNSET):
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            # A GraphQL-shaped error, not Strawberry's plain text, for every refused HTTP request.
            return JSONResponse({"data": None, "errors": [{"message": exc.reason}]}, status_code=exc.status_code)

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
    graphql_ide=None,  # GRAPHIQL_PAGE instead: Strawberry's page loads its scripts from a CDN
    subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
)


# GraphiQL from files served here (static/graphiql/vendor/README.md), so it works offline; the
# policy keeps the page from loading anything from elsewhere.
GRAPHIQL_DIRECTORY = Path(__file__).parent / "static" / "graphiql"
GRAPHIQL_PAGE = (GRAPHIQL_DIRECTORY / "index.html").read_text()
GRAPHIQL_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
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
            response = HTMLResponse(GRAPHIQL_PAGE, headers={"Content-Security-Policy": GRAPHIQL_CONTENT_SECURITY_POLICY})
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
    Mount("/static/graphiql", StaticFiles(directory=GRAPHIQL_DIRECTORY), name="graphiql_static"),
]
