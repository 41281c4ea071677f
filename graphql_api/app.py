"""The /graphql endpoint: GraphiQL for browsers, authenticated GraphQL over GET and POST."""
from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from core.errors import DomainError
from graphql_api.context import GraphQLContext, open_core_context
from graphql_api.schema import schema


class _GraphQLView(GraphQL):
    """Strawberry's ASGI view, running with the context `GraphQLEndpoint` built for the request."""

    async def get_context(self, request: Request, response) -> GraphQLContext:
        return request.state.graphql_context


_view = _GraphQLView(schema, graphql_ide="graphiql")


def _wants_graphiql(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "") and "query" not in request.query_params


class GraphQLEndpoint:
    """ASGI app: authenticates exactly as REST does, opens the request's session, runs the query
    through Strawberry, then closes the session. GraphiQL itself needs no credentials; the
    queries it sends do (set the Authorization header in its headers pane)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            # The response has been sent (no streaming), so the session can go, even if the
            # client went away and this task is being cancelled.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(core_context.session.close)


graphql_routes = [Route("/graphql", GraphQLEndpoint(), methods=["GET", "POST"], name="graphql")]
