"""Personal access tokens (/api/token/...) and JWT settings (/api/jwt/settings)."""
from __future__ import annotations

from core.auth import tokens_service
from core.auth.models import RefreshToken
from core.organizations.models import Organization
from core.timeutil import isoformat
from rest_compat.http import ApiRequest, api, api_route


def _token_row(row: RefreshToken, token: str) -> dict:
    return {"token": token, "created_at": isoformat(row.created_at), "expires_at": isoformat(row.expires_at)}


def _jwt_settings(organization: Organization) -> dict:
    return {
        "api_tokens_enabled": organization.api_tokens_enabled,
        "legacy_api_tokens_enabled": organization.legacy_api_tokens_enabled,
        "api_token_ttl_days": organization.api_token_ttl_days,
    }


def list_tokens(req: ApiRequest) -> list:
    # Only header.payload is ever shown again; the signature was shown once, at creation.
    return [_token_row(row, row.token) for row in tokens_service.list_api_tokens(req.ctx)]


def create_token(req: ApiRequest) -> dict:
    row, token = tokens_service.create_api_token(req.ctx)
    return _token_row(row, token)


def refresh(req: ApiRequest) -> dict:
    return {"access": tokens_service.refresh_access_token(req.ctx.session, req.ctx.settings, req.json(default={}))}


def blacklist(req: ApiRequest) -> None:
    tokens_service.blacklist_token(req.ctx.session, req.json(default={}))


def rotate(req: ApiRequest) -> dict:
    return {"refresh": tokens_service.rotate_token(req.ctx, req.json(default={}))}


def get_jwt_settings(req: ApiRequest) -> dict:
    return _jwt_settings(tokens_service.get_jwt_settings(req.ctx))


def update_jwt_settings(req: ApiRequest) -> dict:
    return _jwt_settings(tokens_service.update_jwt_settings(req.ctx, req.json(default={})))


routes = [
    *api_route("/api/token/", {"GET": api(list_tokens), "POST": api(create_token, status=201)}),
    *api_route("/api/token/refresh/", {"POST": api(refresh, auth=False)}),
    *api_route("/api/token/blacklist/", {"POST": api(blacklist, auth=False)}),
    *api_route("/api/token/rotate/", {"POST": api(rotate)}),
    # The spec documents 201 for this update (Label Studio's community build answers 200).
    *api_route("/api/jwt/settings", {"GET": api(get_jwt_settings), "POST": api(update_jwt_settings, status=201)}),
]
