"""Data Manager views (tabs): /api/dm/views/, /api/dm/views/{id}/, /order/, /reset/."""
from __future__ import annotations

from starlette.responses import Response

from core.data_manager import views as service
from core.errors import NotFound
from core.shapes.views import view_json
from rest_compat.http import ApiRequest, api, api_route


def _view_id(req: ApiRequest) -> int:
    try:
        return int(req.path["id"])
    except ValueError:
        raise NotFound()


def list_views(req: ApiRequest) -> list[dict]:
    return [view_json(view) for view in service.list_views(req.ctx, req.query.get("project"))]


def create_view(req: ApiRequest) -> dict:
    return view_json(service.create_view(req.ctx, req.json(default={})))


def get_view(req: ApiRequest) -> dict:
    return view_json(service.get_view(req.ctx, _view_id(req)))


def update_view(req: ApiRequest) -> dict:
    return view_json(service.update_view(req.ctx, _view_id(req), req.json(default={})))


def replace_view(req: ApiRequest) -> dict:
    return view_json(service.update_view(req.ctx, _view_id(req), req.json(default={}), partial=False))


def delete_view(req: ApiRequest) -> None:
    service.delete_view(req.ctx, _view_id(req))


def reorder_views(req: ApiRequest) -> Response:
    service.reorder_views(req.ctx, req.json(default={}))
    return Response(status_code=200)  # Label Studio answers with an empty body


def reset_views(req: ApiRequest) -> None:
    service.reset_views(req.ctx, req.json(default={}), req.query.get("project"))


routes = [
    *api_route("/api/dm/views/", {"GET": api(list_views), "POST": api(create_view, status=201)}),
    *api_route("/api/dm/views/order/", {"POST": api(reorder_views)}),
    *api_route("/api/dm/views/reset/", {"DELETE": api(reset_views)}),
    *api_route(
        "/api/dm/views/{id}/",
        {"GET": api(get_view), "PATCH": api(update_view), "PUT": api(replace_view), "DELETE": api(delete_view)},
    ),
]
