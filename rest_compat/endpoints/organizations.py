"""Organizations, memberships, invites (/api/organizations/..., /api/invite) and the session policy."""
from __future__ import annotations

from core.organizations import queries, service
from core.shapes import organizations as shapes
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route


def list_organizations(req: ApiRequest) -> list:
    return [shapes.organization_id(o) for o in queries.list_my_organizations(req.ctx, req.query.get("ordering"))]


def _detail(req: ApiRequest, organization) -> dict:
    return shapes.organization_detail(organization, queries.member_user_ids(req.ctx.session, organization.id))


def get_organization(req: ApiRequest) -> dict:
    return _detail(req, queries.get_my_organization(req.ctx, req.path["id"]))


def update_organization(req: ApiRequest) -> dict:
    return _detail(req, service.update_organization(req.ctx, req.path["id"], req.json(default={})))


def get_member(req: ApiRequest) -> dict:
    with_projects = bool(parse_bool(req.query.get("contributed_to_projects", "false")))
    return shapes.member(queries.get_member(req.ctx, req.path["id"], req.path["user_pk"], with_projects))


def remove_member(req: ApiRequest) -> None:
    service.remove_member(req.ctx, req.path["id"], req.path["user_pk"])


def _invite(organization) -> dict:
    return shapes.invite(organization, service.invite_url(organization))


def get_invite(req: ApiRequest) -> dict:
    return _invite(service.get_invite(req.ctx))


def reset_invite_token(req: ApiRequest) -> dict:
    return _invite(service.reset_invite_token(req.ctx))


def get_session_policy(req: ApiRequest) -> dict:
    return shapes.session_policy(service.get_session_policy(req.ctx))


def update_session_policy(req: ApiRequest) -> dict:
    return shapes.session_policy(service.update_session_policy(req.ctx, req.json(default={})))


routes = [
    *api_route("/api/organizations/", {"GET": api(list_organizations)}),
    *api_route("/api/organizations/{id:int}", {"GET": api(get_organization), "PATCH": api(update_organization)}),
    *api_route(
        "/api/organizations/{id:int}/memberships/{user_pk:int}/",
        {"GET": api(get_member), "DELETE": api(remove_member)},
    ),
    *api_route("/api/invite", {"GET": api(get_invite)}),
    # The spec documents 200 here (Label Studio's community build answers 201).
    *api_route("/api/invite/reset-token", {"POST": api(reset_invite_token)}),
    *api_route("/api/session-policy/", {"GET": api(get_session_policy), "PATCH": api(update_session_policy)}),
]
