"""Users: /api/users/, /api/current-user/... (list, create, update, delete, hotkeys, legacy token)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.auth.models import LegacyToken
from core.auth.passwords import verify_password
from core.organizations.models import OrganizationMember
from core.users.models import User
from tests.openapi_contract import response_schema, schema_errors

# Label Studio (both editions) sends `active_organization_meta` as {"title", "email"}; the spec,
# generated from an untyped method field, calls it a string. We follow the server, not the spec.
KNOWN_SPEC_GAPS = ("active_organization_meta: expected ['string'], got dict",)


def assert_user_matches_spec(response, method: str, path: str):
    body = response.json()
    errors = schema_errors(body, response_schema(method, path, response.status_code))
    errors = [e for e in errors if not e.endswith(KNOWN_SPEC_GAPS)]
    assert not errors, f"{method} {path} -> {response.status_code} disagrees with the spec:\n" + "\n".join(errors)
    return body


@pytest.fixture
def mate(make_actor, actor):
    """A second member of actor's organization (not its owner)."""
    return make_actor("mate@example.com", same_org_as=actor)


def user_count(db) -> int:
    return db.scalar(select(func.count(User.id)))


def test_anonymous_is_refused(client):
    for path in ("/api/users/", "/api/current-user/whoami", "/api/current-user/token", "/api/current-user"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["status_code"] == 401


def test_list_users_of_my_organization_only(actor, mate, stranger):
    response = actor.client.get("/api/users/")
    assert response.status_code == 200
    body = assert_user_matches_spec(response, "GET", "/api/users/")
    assert [u["id"] for u in body] == [actor.user_id, mate.user_id]
    me = body[0]
    assert me["email"] == actor.email
    assert me["active_organization"] == actor.organization_id
    assert me["active_organization_meta"] == {"title": "Label Studio", "email": actor.email}
    assert me["initials"] == "ow"
    assert me["org_membership"] == [{"organization_id": actor.organization_id, "role": "OW", "active": "true"}]

    descending = actor.client.get("/api/users/?ordering=-id").json()
    assert [u["id"] for u in descending] == [mate.user_id, actor.user_id]
    assert [u["id"] for u in stranger.client.get("/api/users/").json()] == [stranger.user_id]


def test_get_user(actor, mate, stranger):
    response = actor.client.get(f"/api/users/{mate.user_id}/")
    assert response.status_code == 200
    body = assert_user_matches_spec(response, "GET", "/api/users/{id}/")
    assert body["id"] == mate.user_id and body["email"] == mate.email
    # Another organization's user does not exist for me.
    assert actor.client.get(f"/api/users/{stranger.user_id}/").status_code == 404
    assert actor.client.get("/api/users/999999/").status_code == 404


def test_create_user(actor, db):
    response = actor.client.post(
        "/api/users/", json={"username": "newbie", "email": "New@Example.COM", "first_name": "Ada", "last_name": "L"}
    )
    assert response.status_code == 201, response.text
    body = assert_user_matches_spec(response, "POST", "/api/users/")
    assert body["username"] == "newbie"
    assert body["email"] == "New@example.com"
    assert body["initials"] == "AL"
    assert body["active_organization"] == actor.organization_id
    member = db.scalar(select(OrganizationMember).where(OrganizationMember.user_id == body["id"]))
    assert member.organization_id == actor.organization_id and member.deleted_at is None
    # The new user has a working legacy token and shows up in the organization.
    key = db.scalar(select(LegacyToken.key).where(LegacyToken.user_id == body["id"]))
    with TestClient(actor.client.app, headers={"Authorization": f"Token {key}"}) as newbie:
        assert newbie.get("/api/current-user/whoami").json()["id"] == body["id"]
    assert body["id"] in [u["id"] for u in actor.client.get("/api/users/").json()]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "username"),
        ({"username": ""}, "username"),
        ({"username": "x", "email": "not-an-email"}, "email"),
        ({"username": "x", "email": "owner@example.com"}, "email"),
        ({"username": "x", "email": "OWNER@example.com"}, "email"),
        ({"username": "x", "allow_newsletters": "perhaps"}, "allow_newsletters"),
        ({"username": ["x"]}, "username"),
        ([{"username": "x"}], "non_field_errors"),
    ],
)
def test_create_user_rejects_bad_input(actor, db, payload, field):
    before = user_count(db)
    response = actor.client.post("/api/users/", json=payload)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Validation error" and field in body["validation_errors"]
    assert user_count(db) == before


def test_create_user_rejects_malformed_json(actor, db):
    before = user_count(db)
    response = actor.client.post("/api/users/", content=b"{bad", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert user_count(db) == before


def test_update_myself(actor, db):
    response = actor.client.patch(
        f"/api/users/{actor.user_id}/", json={"first_name": "Grace", "phone": "123", "allow_newsletters": True}
    )
    assert response.status_code == 200
    body = assert_user_matches_spec(response, "PATCH", "/api/users/{id}/")
    assert (body["first_name"], body["phone"], body["allow_newsletters"]) == ("Grace", "123", True)
    user = db.get(User, actor.user_id)
    assert (user.first_name, user.phone, user.allow_newsletters) == ("Grace", "123", True)


def test_update_rejects_read_only_email_and_bad_types(actor, db):
    response = actor.client.patch(f"/api/users/{actor.user_id}/", json={"email": "x@y.z", "first_name": "No"})
    assert response.status_code == 405
    assert response.json()["detail"] == "Cannot update read-only field: email"
    response = actor.client.patch(f"/api/users/{actor.user_id}/", json={"first_name": "No", "allow_newsletters": "zz"})
    assert response.status_code == 400
    assert "allow_newsletters" in response.json()["validation_errors"]
    response = actor.client.patch(f"/api/users/{actor.user_id}/", json={"first_name": "No", "active_organization": 999})
    assert response.status_code == 400
    assert "active_organization" in response.json()["validation_errors"]
    response = actor.client.patch(f"/api/users/{actor.user_id}/", json={"password": "short"})
    assert response.status_code == 400
    user = db.get(User, actor.user_id)
    assert user.first_name == "" and user.email == actor.email


def test_change_own_password(actor, db):
    response = actor.client.patch("/api/current-user", json={"password": "a-much-longer-secret"})
    assert response.status_code == 200
    assert verify_password("a-much-longer-secret", db.get(User, actor.user_id).password_hash)


def test_only_the_owner_may_update_someone_else(actor, mate, stranger, db):
    response = mate.client.patch(f"/api/users/{actor.user_id}/", json={"first_name": "Hacked"})
    assert response.status_code == 403
    assert db.get(User, actor.user_id).first_name == ""
    # The organization's owner may edit its members, but not their passwords.
    response = actor.client.patch(f"/api/users/{mate.user_id}/", json={"last_name": "Renamed"})
    assert response.status_code == 200 and response.json()["last_name"] == "Renamed"
    assert actor.client.patch(f"/api/users/{mate.user_id}/", json={"password": "long-enough-1"}).status_code == 400
    # Users of other organizations are invisible.
    assert actor.client.patch(f"/api/users/{stranger.user_id}/", json={"first_name": "X"}).status_code == 404
    assert db.get(User, stranger.user_id).first_name == ""


def test_delete_user(actor, mate, stranger, db):
    assert mate.client.delete(f"/api/users/{actor.user_id}/").status_code == 403
    assert actor.client.delete(f"/api/users/{actor.user_id}/").status_code == 403  # owners cannot be deleted
    assert actor.client.delete(f"/api/users/{stranger.user_id}/").status_code == 404
    assert actor.client.get(f"/api/users/{stranger.user_id}/").status_code == 404

    response = actor.client.delete(f"/api/users/{mate.user_id}/")
    assert response.status_code == 204
    db.expire_all()
    assert db.get(User, mate.user_id) is None
    assert db.get(User, stranger.user_id) is not None
    assert mate.client.get("/api/current-user/whoami").status_code == 401
    assert actor.client.get(f"/api/users/{mate.user_id}/").status_code == 404


def test_current_user(actor):
    response = actor.client.get("/api/current-user")
    assert response.status_code == 200
    assert assert_user_matches_spec(response, "GET", "/api/current-user")["id"] == actor.user_id
    response = actor.client.patch("/api/current-user", json={"username": "boss", "last_name": "Hopper"})
    assert response.status_code == 200
    body = assert_user_matches_spec(response, "PATCH", "/api/current-user")
    assert (body["username"], body["last_name"]) == ("boss", "Hopper")
    assert actor.client.patch("/api/current-user", json={"username": ""}).status_code == 400


def test_whoami(actor):
    response = actor.client.get("/api/current-user/whoami")
    assert response.status_code == 200
    body = assert_user_matches_spec(response, "GET", "/api/current-user/whoami")
    assert body["id"] == actor.user_id and body["email"] == actor.email
    assert "projects.create" in body["permissions"]


def test_soft_deleted_member_is_listed_masked(actor, mate):
    assert actor.client.delete(f"/api/organizations/{actor.organization_id}/memberships/{mate.user_id}/").status_code == 204
    listed = {u["id"]: u for u in actor.client.get("/api/users/").json()}
    assert listed[mate.user_id]["email"] == "Deleted"
    assert (listed[mate.user_id]["first_name"], listed[mate.user_id]["last_name"]) == ("Deleted", "User")
    assert listed[mate.user_id]["initials"] == "DU"


def test_hotkeys(actor, db):
    response = actor.client.get("/api/current-user/hotkeys/")
    assert response.status_code == 200
    assert assert_user_matches_spec(response, "GET", "/api/current-user/hotkeys/") == {"custom_hotkeys": {}}
    hotkeys = {"annotation:submit": {"key": "ctrl+enter"}, "regions:delete": {"key": "backspace", "active": False}}
    response = actor.client.patch("/api/current-user/hotkeys/", json={"custom_hotkeys": hotkeys})
    assert response.status_code == 200
    assert assert_user_matches_spec(response, "PATCH", "/api/current-user/hotkeys/") == {"custom_hotkeys": hotkeys}
    assert actor.client.get("/api/current-user/hotkeys/").json() == {"custom_hotkeys": hotkeys}
    assert db.get(User, actor.user_id).custom_hotkeys == hotkeys


@pytest.mark.parametrize(
    "payload, message",
    [
        ({}, "This field is required."),
        ({"custom_hotkeys": []}, 'Expected a dictionary of items but got type "list".'),
        ({"custom_hotkeys": {"submit": {"key": "a"}}}, "Action key 'submit' must be in 'section:action' format"),
        ({"custom_hotkeys": {"a:b": "ctrl+a"}}, "Hotkey data for 'a:b' must be a dictionary"),
        ({"custom_hotkeys": {"a:b": {"key": "alt+F4"}}}, "Key combination 'alt+F4' is not allowed for security reasons"),
        ({"custom_hotkeys": {"a:b": {"key": "a", "active": "yes"}}}, "Active flag for 'a:b' must be a boolean"),
        ({"custom_hotkeys": {"a:b": {"key": "ctrl+\u00e9"}}}, "Key combination 'ctrl+\u00e9' for 'a:b' contains invalid characters"),
    ],
)
def test_hotkeys_reject_bad_input(actor, db, payload, message):
    response = actor.client.patch("/api/current-user/hotkeys/", json=payload)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid hotkeys configuration", "details": {"custom_hotkeys": [message]}}
    assert db.get(User, actor.user_id).custom_hotkeys is None


def test_legacy_token_get_and_reset(actor, app):
    response = actor.client.get("/api/current-user/token")
    assert response.status_code == 200
    assert response.json() == {"token": actor.token}
    response = actor.client.post("/api/current-user/reset-token/")
    assert response.status_code == 201
    new_token = response.json()["token"]
    assert new_token and new_token != actor.token
    # The old token stops working at once; the new one works.
    assert actor.client.get("/api/current-user/whoami").status_code == 401
    with TestClient(app, headers={"Authorization": f"Token {new_token}"}) as renewed:
        assert renewed.get("/api/current-user/token").json() == {"token": new_token}


def test_sdk_users(live_server, actor):
    from label_studio_sdk import LabelStudio

    sdk = LabelStudio(base_url=live_server, api_key=actor.token)
    assert sdk.users.whoami().email == actor.email
    created = sdk.users.create(username="sdk-user", email="sdk@example.com", first_name="S")
    assert sdk.users.get(id=created.id).username == "sdk-user"
    assert sdk.users.update(id=created.id, last_name="K").last_name == "K"
    assert {u.id for u in sdk.users.list()} == {actor.user_id, created.id}
    assert sdk.users.get_current_user().id == actor.user_id
    assert sdk.users.update_hotkeys(custom_hotkeys={"a:b": {"key": "x"}}).custom_hotkeys == {"a:b": {"key": "x"}}
    assert sdk.users.get_token().token == actor.token
    sdk.users.delete(id=created.id)
    assert {u.id for u in sdk.users.list()} == {actor.user_id}


def test_users_list_costs_the_same_for_any_number_of_users(actor, make_actor, statement_counter):
    def statements() -> int:
        with statement_counter() as count:
            assert actor.client.get("/api/users/").status_code == 200
        return count()

    make_actor("one@example.com", same_org_as=actor)
    few = statements()
    for n in range(6):
        make_actor(f"many{n}@example.com", same_org_as=actor)
    assert len(actor.client.get("/api/users/").json()) == 8
    assert statements() == few


def test_ids_beyond_the_integer_range_are_not_found(actor):
    huge = 2**70
    assert actor.client.get(f"/api/users/{huge}/").status_code == 404
    assert actor.client.patch(f"/api/users/{huge}/", json={"first_name": "x"}).status_code == 404
    assert actor.client.delete(f"/api/users/{huge}/").status_code == 404
    response = actor.client.patch("/api/current-user", json={"active_organization": huge})
    assert response.status_code == 400 and "active_organization" in response.json()["validation_errors"]
