"""Organizations, memberships, invites and the session policy."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.annotations.models import Annotation
from core.db.unit_of_work import transaction
from core.organizations.models import Organization, OrganizationMember
from core.projects.models import Project
from core.tasks.models import Task
from core.users.bootstrap import add_member
from core.users.models import User
from tests.openapi_contract import assert_matches_spec


@pytest.fixture
def mate(make_actor, actor):
    return make_actor("mate@example.com", same_org_as=actor)


def membership_path(actor, user_id: int, org_id: int | None = None) -> str:
    return f"/api/organizations/{org_id or actor.organization_id}/memberships/{user_id}/"


def test_list_my_organizations(actor, stranger, app):
    # actor also joins the stranger's organization; a removed membership hides it again.
    with transaction(app.state.session_factory) as session:
        add_member(session, session.get(Organization, stranger.organization_id), session.get(User, actor.user_id))
    response = actor.client.get("/api/organizations/")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/organizations/")
    assert [o["id"] for o in body] == [actor.organization_id, stranger.organization_id]
    assert body[0]["title"] == "Label Studio" and body[0]["contact_info"] is None
    assert [o["id"] for o in actor.client.get("/api/organizations/?ordering=-id").json()][0] == stranger.organization_id
    assert [o["id"] for o in stranger.client.get("/api/organizations/").json()] == [stranger.organization_id]


def test_get_organization(actor, stranger):
    response = actor.client.get(f"/api/organizations/{actor.organization_id}")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/organizations/{id}")
    assert body["id"] == actor.organization_id and body["token"]
    assert actor.client.get(f"/api/organizations/{stranger.organization_id}").status_code == 404
    assert actor.client.get("/api/organizations/999999").status_code == 404


def test_update_organization(actor, stranger, db):
    response = actor.client.patch(
        f"/api/organizations/{actor.organization_id}",
        json={"title": "Acme labeling", "contact_info": "ops@acme.test", "created_by": stranger.user_id},
    )
    assert response.status_code == 200
    body = assert_matches_spec(response, "PATCH", "/api/organizations/{id}")
    assert body["title"] == "Acme labeling"
    org = db.get(Organization, actor.organization_id)
    assert (org.title, org.contact_info, org.created_by_id) == ("Acme labeling", "ops@acme.test", actor.user_id)
    # Cross-organization: invisible, untouched.
    assert actor.client.patch(f"/api/organizations/{stranger.organization_id}", json={"title": "Mine"}).status_code == 404
    assert db.get(Organization, stranger.organization_id).title == "Label Studio"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "ok", "contact_info": "nope"}, "contact_info"),
        ({"title": ["x"]}, "title"),
        ("just a string", "non_field_errors"),
    ],
)
def test_update_organization_rejects_bad_input(actor, db, payload, field):
    response = actor.client.patch(f"/api/organizations/{actor.organization_id}", json=payload)
    assert response.status_code == 400
    assert field in response.json()["validation_errors"]
    assert db.get(Organization, actor.organization_id).title == "Label Studio"


def test_update_organization_refuses_anothers_invite_token(actor, stranger, db):
    stranger_token = db.get(Organization, stranger.organization_id).token
    response = actor.client.patch(f"/api/organizations/{actor.organization_id}", json={"token": stranger_token})
    assert response.status_code == 400 and "token" in response.json()["validation_errors"]


def test_invite_link_and_reset(actor, db):
    token = db.get(Organization, actor.organization_id).token
    response = actor.client.get("/api/invite")
    assert response.status_code == 200
    assert assert_matches_spec(response, "GET", "/api/invite") == {
        "token": token,
        "invite_url": f"/user/signup/?token={token}",
    }
    response = actor.client.post("/api/invite/reset-token")
    assert response.status_code == 200
    body = assert_matches_spec(response, "POST", "/api/invite/reset-token")
    assert body["token"] != token and body["invite_url"].endswith(body["token"])
    db.expire_all()
    assert db.get(Organization, actor.organization_id).token == body["token"]


def _annotate(app, actor, mate) -> tuple[int, int]:
    """Two projects of actor's organization; mate annotates both (twice in the first)."""
    with transaction(app.state.session_factory) as session:
        projects = [Project(organization_id=actor.organization_id, created_by_id=mate.user_id, title=t) for t in ("A", "B")]
        session.add_all(projects)
        session.flush()
        for project, times in zip(projects, (2, 1)):
            task = Task(project_id=project.id, data={"text": "x"})
            session.add(task)
            session.flush()
            for _ in range(times):
                session.add(Annotation(task_id=task.id, project_id=project.id, completed_by_id=mate.user_id, result=[]))
        return projects[0].id, projects[1].id


def test_get_membership(app, actor, mate, stranger):
    first, second = _annotate(app, actor, mate)
    response = actor.client.get(membership_path(actor, mate.user_id))
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/organizations/{id}/memberships/{user_pk}/")
    assert body["user"] == mate.user_id and body["organization"] == actor.organization_id
    assert (body["annotations_count"], body["contributed_projects_count"]) == (3, 2)
    assert body["created_projects"] is None and body["contributed_to_projects"] is None

    response = actor.client.get(membership_path(actor, mate.user_id) + "?contributed_to_projects=1")
    body = assert_matches_spec(response, "GET", "/api/organizations/{id}/memberships/{user_pk}/")
    assert body["created_projects"] == [{"id": first, "title": "A"}, {"id": second, "title": "B"}]
    assert body["contributed_to_projects"] == body["created_projects"]


def test_get_membership_other_organizations_are_invisible(actor, stranger):
    assert actor.client.get(membership_path(actor, stranger.user_id, stranger.organization_id)).status_code == 404
    assert actor.client.get(membership_path(actor, stranger.user_id)).status_code == 404
    assert actor.client.get(membership_path(actor, 999999)).status_code == 404


def test_remove_member(actor, mate, db):
    response = actor.client.delete(membership_path(actor, mate.user_id))
    assert response.status_code == 204
    member = db.scalar(select(OrganizationMember).where(OrganizationMember.user_id == mate.user_id))
    assert member.deleted_at is not None
    assert db.get(User, mate.user_id).active_organization_id is None
    # The removed member can no longer act in the organization.
    response = mate.client.get("/api/users/")
    assert response.status_code == 401
    assert mate.client.get(f"/api/organizations/{actor.organization_id}").status_code == 404
    # Removing twice: gone already.
    assert actor.client.delete(membership_path(actor, mate.user_id)).status_code == 404


def test_removed_member_of_an_active_org_cannot_authenticate_into_it(actor, mate, app):
    with transaction(app.state.session_factory) as session:
        member = session.scalar(select(OrganizationMember).where(OrganizationMember.user_id == mate.user_id))
        member.deleted_at = member.created_at
    # Still pointing at the organization, but no longer a member of it.
    response = mate.client.get("/api/users/")
    assert response.status_code == 401


def test_remove_member_rules(actor, mate, stranger, db):
    response = actor.client.delete(membership_path(actor, actor.user_id))
    assert response.status_code == 405
    assert response.json()["detail"] == "User cannot soft delete self"
    assert mate.client.delete(membership_path(actor, actor.user_id)).status_code == 403
    assert actor.client.delete(membership_path(actor, stranger.user_id, stranger.organization_id)).status_code == 404
    assert actor.client.delete(membership_path(actor, stranger.user_id)).status_code == 404
    assert db.scalar(select(OrganizationMember).where(OrganizationMember.deleted_at.is_not(None))) is None


def test_remove_member_only_in_active_organization(actor, stranger, app, db):
    # actor also belongs to the stranger's organization, but it is not actor's active one.
    with transaction(app.state.session_factory) as session:
        add_member(session, session.get(Organization, stranger.organization_id), session.get(User, actor.user_id))
    response = actor.client.delete(membership_path(actor, stranger.user_id, stranger.organization_id))
    assert response.status_code == 403
    assert db.scalar(select(OrganizationMember).where(OrganizationMember.deleted_at.is_not(None))) is None


def test_session_policy(actor, stranger, db):
    response = actor.client.get("/api/session-policy/")
    assert response.status_code == 200
    body = assert_matches_spec(response, "GET", "/api/session-policy/")
    assert (body["max_session_age"], body["max_time_between_activity"]) == (11520, 4320)
    response = actor.client.patch("/api/session-policy/", json={"max_session_age": 60})
    assert response.status_code == 200
    body = assert_matches_spec(response, "PATCH", "/api/session-policy/")
    assert (body["max_session_age"], body["max_time_between_activity"]) == (60, 4320)
    assert db.get(Organization, actor.organization_id).max_session_age == 60
    assert stranger.client.get("/api/session-policy/").json()["max_session_age"] == 11520


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"max_session_age": 0}, "max_session_age"),
        ({"max_time_between_activity": "soon"}, "max_time_between_activity"),
        ({"max_session_age": 10, "max_time_between_activity": None}, "max_time_between_activity"),
        ({"max_session_age": 1.5}, "max_session_age"),
    ],
)
def test_session_policy_rejects_bad_input(actor, db, payload, field):
    response = actor.client.patch("/api/session-policy/", json=payload)
    assert response.status_code == 400
    assert field in response.json()["validation_errors"]
    assert db.get(Organization, actor.organization_id).max_session_age == 11520


def test_anonymous_is_refused(client):
    for path in ("/api/organizations/", "/api/invite", "/api/session-policy/", "/api/jwt/settings", "/api/token/"):
        assert client.get(path).status_code == 401


def test_sdk_organizations(live_server, actor, mate):
    from label_studio_sdk import LabelStudio

    sdk = LabelStudio(base_url=live_server, api_key=actor.token)
    assert [o.id for o in sdk.organizations.list()] == [actor.organization_id]
    assert sdk.organizations.get(id=actor.organization_id).title == "Label Studio"
    assert sdk.organizations.update(id=actor.organization_id, title="Renamed").title == "Renamed"
    invite = sdk.organizations.reset_token()
    assert invite.invite_url == f"/user/signup/?token={invite.token}"
    assert sdk.organizations.members.get(id=actor.organization_id, user_pk=mate.user_id).user == mate.user_id
    sdk.organizations.members.delete(id=actor.organization_id, user_pk=mate.user_id)
    assert sdk.session_policy.update(max_time_between_activity=90).max_time_between_activity == 90
    assert sdk.session_policy.get().max_time_between_activity == 90


def test_ids_beyond_the_integer_range_are_not_found(actor):
    huge = 2**70
    assert actor.client.get(f"/api/organizations/{huge}").status_code == 404
    assert actor.client.patch(f"/api/organizations/{huge}", json={"title": "x"}).status_code == 404
    assert actor.client.get(membership_path(actor, huge)).status_code == 404
    assert actor.client.delete(membership_path(actor, huge)).status_code == 404
    assert actor.client.get(membership_path(actor, 1, huge)).status_code == 404
