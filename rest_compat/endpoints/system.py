"""Health and version."""
from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from rest_compat.http import ApiRequest, api, api_route, json_response


async def health(request: Request):
    return json_response({"status": "UP"})


def version(req: ApiRequest) -> dict:
    v = req.ctx.settings.version
    return {
        "release": v,
        "label-studio-os-package": {"version": v, "short_version": v.rsplit(".", 1)[0], "latest_version_from_pypi": v},
        "label-studio-os-backend": {"message": "Labelgraph", "commit": "", "date": "", "branch": "", "version": v},
        "label-studio-frontend": {},
        "dm2": {},
        "label-studio-converter": {"version": v},
        "edition": "Community",
        "lsf": {},
        "backend": {"name": "labelgraph"},
    }


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/api/health", health, methods=["GET"]),
    *api_route("/api/version/", {"GET": api(version, auth=False)}),
    *api_route("/version", {"GET": api(version, auth=False)}),
]
