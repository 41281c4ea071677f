"""Personal access tokens (JWT refresh), access tokens, Bearer auth, JWT settings."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.auth import jwt_tokens
from core.auth.models import RefreshToken
from core.organizations.models import Organization
from tests.openapi_contract import assert_matches_spec


def bearer_client(app, access: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {access}"})


def create_pat(actor) -> str:
    response = actor.client.post("/api/token/")
    assert response.status_code == 201, response.text
    return response.json()["token"]


def refresh(client, token):
    return client.post("/api/token/refresh/", json={"refresh": token})


def test_pat_to_bearer_end_to_end(app, actor, client, db):
    response = actor.client.post("/api/token/")
    assert response.status_code == 201
    body = assert_matches_spec(response, "POST", "/api/token/")
    pat = body["token"]
    assert pat.count(".") == 2
    row = db.scalar(select(RefreshToken).where(RefreshToken.user_id == actor.user_id))
    # Stored without its signature: the database never holds a usable token.
    assert row.token == ".".join(pat.split(".")[:2])
    # Label Studio's default TTL is 200 years.
    assert row.expires_at - row.created_at > timedelta(days=200 * 365 - 1)

    response = refresh(client, pat)
    assert response.status_code == 200
    access = assert_matches_spec(response, "POST", "/api/token/refresh/")["access"]
    assert jwt_tokens.decode(app.state.settings.secret_key, access, expected_type="access")["user_id"] == actor.user_id
    with bearer_client(app, access) as bearer:
        response = bearer.get("/api/current-user/whoami")
        assert response.status_code == 200 and response.json()["id"] == actor.user_id
        assert bearer.get("/api/users/").status_code == 200


def test_one_valid_pat_at_a_time(actor):
    create_pat(actor)
    response = actor.client.post("/api/token/")
    assert response.status_code == 409
    assert response.json()["detail"] == "You already have a valid token. Please revoke it before creating a new one."


def test_list_shows_only_my_valid_tokens_without_signature(actor, stranger):
    pat = create_pat(actor)
    create_pat(stranger)
    response = actor.client.get("/api/token/")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/token/")
    assert [t["token"] for t in body] == [".".join(pat.split(".")[:2])]
    assert body[0]["expires_at"].endswith("Z")


def test_pat_ttl_follows_organization_setting(actor, db):
    assert actor.client.post("/api/jwt/settings", json={"api_token_ttl_days": 7}).status_code == 201
    create_pat(actor)
    row = db.scalar(select(RefreshToken).where(RefreshToken.user_id == actor.user_id))
    assert timedelta(days=7) - timedelta(minutes=1) < row.expires_at - row.created_at <= timedelta(days=7)


@pytest.mark.parametrize(
    "payload, status",
    [({}, 400), ({"refresh": ""}, 400), ({"refresh": {"a": 1}}, 400), ({"refresh": "garbage"}, 401)],
)
def test_refresh_rejects_bad_input(client, payload, status):
    response = client.post("/api/token/refresh/", json=payload)
    assert response.status_code == status
    assert response.json()["status_code"] == status


def test_refresh_rejects_access_tokens_and_foreign_signatures(app, actor, client):
    access = refresh(client, create_pat(actor)).json()["access"]
    response = refresh(client, access)
    assert response.status_code == 401 and response.json()["detail"] == "Token has wrong type"
    forged, _, _ = jwt_tokens.encode("another-server-secret-of-sufficient-length-0123456789", user_id=actor.user_id, token_type="refresh", ttl=timedelta(days=1))
    assert refresh(client, forged).status_code == 401
    # A correctly signed token this server never issued (or already forgot) is refused too.
    unknown, _, _ = jwt_tokens.encode(app.state.settings.secret_key, user_id=actor.user_id, token_type="refresh", ttl=timedelta(days=1))
    assert refresh(client, unknown).status_code == 401


def test_expired_access_token_is_refused(app, actor):
    expired, _, _ = jwt_tokens.encode(
        app.state.settings.secret_key, user_id=actor.user_id, token_type="access", ttl=timedelta(seconds=-10)
    )
    with bearer_client(app, expired) as bearer:
        response = bearer.get("/api/current-user/whoami")
    assert response.status_code == 401
    assert response.json()["detail"] == "Token is expired"


def test_blacklist_revokes_refresh(actor, client, db):
    pat = create_pat(actor)
    truncated = actor.client.get("/api/token/").json()[0]["token"]
    response = client.post("/api/token/blacklist/", json={"refresh": truncated})
    assert response.status_code == 204
    assert db.scalar(select(RefreshToken.blacklisted_at).where(RefreshToken.user_id == actor.user_id)) is not None
    response = refresh(client, pat)
    assert response.status_code == 401 and response.json()["detail"] == "Token is blacklisted"
    assert actor.client.get("/api/token/").json() == []
    # Once revoked, a new token may be created.
    assert actor.client.post("/api/token/").status_code == 201


def test_blacklist_rejects_unknown_and_repeated(actor, client):
    pat = create_pat(actor)
    assert client.post("/api/token/blacklist/", json={"refresh": pat}).status_code == 204
    response = client.post("/api/token/blacklist/", json={"refresh": pat})
    assert response.status_code == 404
    assert response.json()["detail"] == "Token is invalid or already blacklisted."
    assert client.post("/api/token/blacklist/", json={"refresh": "not-a-token"}).status_code == 404
    assert client.post("/api/token/blacklist/", json={}).status_code == 400


def test_blacklist_needs_the_exact_token(actor, client, db):
    pat = create_pat(actor)
    header, payload, _ = pat.split(".")
    tampered = header + "." + payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    assert client.post("/api/token/blacklist/", json={"refresh": tampered}).status_code == 404
    assert db.scalar(select(RefreshToken.blacklisted_at)) is None


def test_rotate(actor, client, db):
    pat = create_pat(actor)
    response = actor.client.post("/api/token/rotate/", json={"refresh": pat})
    assert response.status_code == 200
    new_pat = assert_matches_spec(response, "POST", "/api/token/rotate/")["refresh"]
    assert new_pat != pat
    assert refresh(client, pat).status_code == 401
    assert refresh(client, new_pat).status_code == 200
    # The revoked one cannot be rotated again.
    response = actor.client.post("/api/token/rotate/", json={"refresh": pat})
    assert response.status_code == 400
    assert response.json()["validation_errors"] == {"non_field_errors": ["Invalid refresh token"]}
    assert db.scalar(select(func.count(RefreshToken.id))) == 2


def test_rotate_refuses_someone_elses_token_and_anonymous(actor, stranger, client):
    pat = create_pat(actor)
    response = stranger.client.post("/api/token/rotate/", json={"refresh": pat})
    assert response.status_code == 400
    assert refresh(client, pat).status_code == 200
    assert client.post("/api/token/rotate/", json={"refresh": pat}).status_code == 401
    assert actor.client.post("/api/token/rotate/", json={}).status_code == 400


def test_jwt_settings_get_and_update(actor, stranger, db):
    response = actor.client.get("/api/jwt/settings")
    assert response.status_code == 200
    assert assert_matches_spec(response, "GET", "/api/jwt/settings") == {
        "api_tokens_enabled": True,
        "legacy_api_tokens_enabled": True,
        "api_token_ttl_days": 73000,
    }
    response = actor.client.post("/api/jwt/settings", json={"api_token_ttl_days": 30, "api_tokens_enabled": False})
    assert response.status_code == 201
    body = assert_matches_spec(response, "POST", "/api/jwt/settings")
    assert body == {"api_tokens_enabled": False, "legacy_api_tokens_enabled": True, "api_token_ttl_days": 30}
    org = db.get(Organization, actor.organization_id)
    assert (org.api_tokens_enabled, org.api_token_ttl_days) == (False, 30)
    # Another organization is untouched.
    assert stranger.client.get("/api/jwt/settings").json()["api_token_ttl_days"] == 73000


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"api_tokens_enabled": "maybe"}, "api_tokens_enabled"),
        ({"legacy_api_tokens_enabled": None}, "legacy_api_tokens_enabled"),
        ({"api_token_ttl_days": 0}, "api_token_ttl_days"),
        ({"api_token_ttl_days": "ten"}, "api_token_ttl_days"),
        ({"api_tokens_enabled": False, "api_token_ttl_days": 10**9}, "api_token_ttl_days"),
    ],
)
def test_jwt_settings_reject_bad_input(actor, db, payload, field):
    response = actor.client.post("/api/jwt/settings", json=payload)
    assert response.status_code == 400
    assert field in response.json()["validation_errors"]
    org = db.get(Organization, actor.organization_id)
    assert (org.api_tokens_enabled, org.legacy_api_tokens_enabled, org.api_token_ttl_days) == (True, True, 73000)


def test_disabling_legacy_tokens_keeps_bearer_working(app, actor, client):
    access = refresh(client, create_pat(actor)).json()["access"]
    assert actor.client.post("/api/jwt/settings", json={"legacy_api_tokens_enabled": False}).status_code == 201
    assert actor.client.get("/api/current-user/whoami").status_code == 401
    with bearer_client(app, access) as bearer:
        assert bearer.get("/api/current-user/whoami").status_code == 200
        # ... and the setting can be switched back over Bearer.
        assert bearer.post("/api/jwt/settings", json={"legacy_api_tokens_enabled": True}).status_code == 201
    assert actor.client.get("/api/current-user/whoami").status_code == 200


def test_disabling_pats_refuses_bearer(app, actor, client):
    access = refresh(client, create_pat(actor)).json()["access"]
    assert actor.client.post("/api/jwt/settings", json={"api_tokens_enabled": False}).status_code == 201
    with bearer_client(app, access) as bearer:
        assert bearer.get("/api/current-user/whoami").status_code == 401
    assert actor.client.get("/api/current-user/whoami").status_code == 200


def test_sdk_with_a_personal_access_token(live_server, actor):
    """label-studio-sdk given a PAT exchanges it at /api/token/refresh/ and calls with Bearer."""
    from label_studio_sdk import LabelStudio

    pat = create_pat(actor)
    sdk = LabelStudio(base_url=live_server, api_key=pat)
    assert sdk.users.whoami().id == actor.user_id
    assert [t.token for t in sdk.tokens.list()] == [".".join(pat.split(".")[:2])]
    assert sdk.jwt_settings.update(api_token_ttl_days=10, legacy_api_tokens_enabled=True).api_token_ttl_days == 10
    assert sdk.jwt_settings.get().api_token_ttl_days == 10
    new_pat = sdk.tokens.rotate(refresh=pat).refresh
    assert sdk.tokens.refresh(refresh=new_pat).access
    sdk.tokens.blacklist(refresh=new_pat)
    assert sdk.tokens.list() == []
