"""The /graphql endpoint: GraphiQL for browsers, authenticated GraphQL over GET and POST."""
from __future__ import annotations

import anyio
import anyio.to_thread
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from core.errors import DomainError
from graphql_api.context import GraphQLContext, open_core_context
from graphql_api.schema import schema


class _GraphQLView(GraphQL):
    """Strawberry's ASGI view; the context is built by `graphql_endpoint`, never by the view."""

    def wants_graphiql(self, request: Request) -> bool:
        accept = request.headers.get("accept", "")
        return request.method == "GET" and "text/html" in accept and "query" not in request.query_params


_view = _GraphQLView(schema, graphql_ide="graphiql")


async def graphql_endpoint(request: Request) -> Response:
    if _view.wants_graphiql(request):
        return await _view.render_graphql_ide(request)
    try:
        core_context, user_id = await anyio.to_thread.run_sync(open_core_context, request)
    except DomainError as exc:
        # Unauthenticated callers get an error and no data, whatever they ask for.
        body = {"data": None, "errors": [{"message": exc.detail, "extensions": {"code": "UNAUTHENTICATED"}}]}
        return JSONResponse(body, status_code=exc.status_code, headers={"WWW-Authenticate": 'Token realm="api"'})
    context = GraphQLContext(request=request, core=core_context, user_id=user_id)
    try:
        return await _view.run(request, context=context)
    except HTTPException as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status_code)
    finally:
        # The response is fully built here (no streaming), so the session can go, even if the
        # client went away and this task is being cancelled.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(context.core.session.close)


graphql_routes = [Route("/graphql", graphql_endpoint, methods=["GET", "POST"], name="graphql")]
