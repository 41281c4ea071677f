"""Composition root: one Starlette app serving REST (/api/...), GraphQL (/graphql), /health and the / page."""
from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request

from core.config import Settings, load_settings
from core.db.engine import create_db_engine, make_session_factory
from core.db.migrate import upgrade_head
from core.domains import register_domains
from graphql_api.app import graphql_routes
from labelgraph.home import home_routes
from rest_compat.http import error_body, json_response
from rest_compat.routes import rest_routes
from workers.runtime import JobSystem


def create_app(settings: Settings | None = None, *, migrate: bool = False) -> Starlette:
    settings = settings or load_settings()
    register_domains()
    if migrate:
        upgrade_head(settings.database_url)
    engine = create_db_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    # Without REDIS_URL jobs run on a worker thread in this process; with it, only enqueued here.
    jobs = JobSystem(settings, session_factory)

    async def http_error(request: Request, exc: HTTPException):
        detail = {404: "Not found.", 405: f'Method "{request.method}" not allowed.'}.get(exc.status_code, str(exc.detail))
        return json_response(error_body(exc.status_code, detail, settings.version), exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        jobs.on_server_start()
        yield
        jobs.stop()
        engine.dispose()

    app = Starlette(
        routes=[*home_routes, *rest_routes(), *graphql_routes],
        middleware=cors_middleware(settings),
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.jobs = jobs
    app.state.ports = {"jobs": jobs.queue}
    return app


def cors_middleware(settings: Settings) -> list[Middleware]:
    """Browsers on the configured origins may call REST and GraphQL (preflights answered 200), as
    Label Studio allows any origin. Credentials travel in the Authorization header, never in
    cookies, so none are allowed cross-origin."""
    if not settings.cors_origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"], allow_headers=["*"], max_age=3600)]
