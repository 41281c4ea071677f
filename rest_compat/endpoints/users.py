"""Users: /api/users/, /api/current-user/..."""
from __future__ import annotations

from core.errors import ValidationError
from core.shapes.users import user_api, user_full, whoami
from core.users import queries, service
from rest_compat.http import ApiRequest, api, api_route, json_response


def _user_id(req: ApiRequest) -> int:
    return int(req.path["id"])


def list_users(req: ApiRequest) -> list:
    return [user_api(d) for d in queries.list_org_users(req.ctx, req.query.get("ordering"))]


def create_user(req: ApiRequest) -> dict:
    user = service.create_user(req.ctx, req.json(default={}))
    return user_full(queries.get_user_details(req.ctx, user.id))


def get_user(req: ApiRequest) -> dict:
    return user_full(queries.get_user_details(req.ctx, _user_id(req)))


def update_user(req: ApiRequest) -> dict:
    user = service.update_user(req.ctx, _user_id(req), req.json(default={}))
    return user_full(queries.get_user_details(req.ctx, user.id))


def delete_user(req: ApiRequest) -> None:
    service.delete_user(req.ctx, _user_id(req))


def get_current_user(req: ApiRequest) -> dict:
    return user_api(queries.current_user_details(req.ctx))


def update_current_user(req: ApiRequest) -> dict:
    service.update_user(req.ctx, req.ctx.require_user().id, req.json(default={}))
    return user_api(queries.current_user_details(req.ctx))


def get_whoami(req: ApiRequest) -> dict:
    return whoami(queries.current_user_details(req.ctx), service.ALL_PERMISSIONS)


def get_hotkeys(req: ApiRequest) -> dict:
    return {"custom_hotkeys": service.get_hotkeys(req.ctx)}


def update_hotkeys(req: ApiRequest):
    body = req.json(default={})  # malformed JSON is a parse error in the usual shape
    try:
        return {"custom_hotkeys": service.update_hotkeys(req.ctx, body)}
    except ValidationError as exc:
        # Label Studio answers this one endpoint with its own error shape.
        return json_response({"error": "Invalid hotkeys configuration", "details": exc.errors}, 400)


def get_token(req: ApiRequest) -> dict:
    return {"token": service.get_legacy_token(req.ctx)}


def reset_token(req: ApiRequest) -> dict:
    return {"token": service.reset_legacy_token(req.ctx)}


routes = [
    *api_route("/api/users/", {"GET": api(list_users), "POST": api(create_user, status=201)}),
    *api_route(
        "/api/users/{id:int}/",
        {"GET": api(get_user), "PATCH": api(update_user), "DELETE": api(delete_user)},
    ),
    *api_route("/api/current-user", {"GET": api(get_current_user), "PATCH": api(update_current_user)}),
    *api_route("/api/current-user/whoami", {"GET": api(get_whoami)}),
    *api_route("/api/current-user/hotkeys/", {"GET": api(get_hotkeys), "PATCH": api(update_hotkeys)}),
    *api_route("/api/current-user/token", {"GET": api(get_token)}),
    *api_route("/api/current-user/reset-token/", {"POST": api(reset_token, status=201)}),
]
