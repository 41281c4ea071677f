"""Health and version."""
from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from core.shapes import system as shapes
from core.system import server_version
from rest_compat.http import ApiRequest, api, api_route, json_response


async def health(request: Request):
    return json_response({"status": "UP"})


def version(req: ApiRequest) -> dict:
    return shapes.version(server_version(req.ctx.settings))


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/api/health", health, methods=["GET"]),
    *api_route("/api/version/", {"GET": api(version, auth=False)}),
    *api_route("/version", {"GET": api(version, auth=False)}),
]
