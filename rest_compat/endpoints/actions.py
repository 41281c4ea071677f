"""Data Manager actions: GET/POST /api/dm/actions/ and the dialog forms /api/dm/actions/{id}/form/."""
from __future__ import annotations

from core.data_manager import actions as service
from rest_compat.http import ApiRequest, api, api_route


def list_actions(req: ApiRequest) -> list[dict]:
    return service.list_actions(req.ctx, req.query.get("project"))


def perform_action(req: ApiRequest) -> dict:
    outcome = service.perform_action(
        req.ctx, req.query.get("id"), req.query.get("project"), req.json(default={}), req.query.get("view")
    )
    return outcome.response


def action_form(req: ApiRequest) -> list:
    return service.action_form(req.ctx, req.path["action_id"], req.query.get("project"))


routes = [
    *api_route("/api/dm/actions/", {"GET": api(list_actions), "POST": api(perform_action)}),
    *api_route("/api/dm/actions/{action_id}/form/", {"GET": api(action_form)}),
]
