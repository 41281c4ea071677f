"""The outbox events of users, tokens, organizations, file uploads, export snapshots, Data Manager
views and actions (in the request and as a dm_action job) and project recounts: kind, project and
object ids of what changed, one event per write, and none for a refused request."""
from __future__ import annotations

from typing import Callable

import pytest
from sqlalchemy import select

from core.data_manager import jobs as dm_jobs
from core.events.models import OutboxEvent
from core.jobs import recount_project
from core.jobs.models import COMPLETED
from core.organizations.models import OrganizationMember
from tests.test_dm_actions import ALL, act, choice, import_tasks, project  # noqa: F401
from tests.test_dm_views import create_view, make_project
from tests.test_export import exported_project  # noqa: F401
from tests.test_export_snapshots import wait_for_snapshot
from tests.test_files import make_project as make_files_project
from tests.test_files import upload_files
from tests.test_jobs import call_service, wait_for_job
from tests.test_seams import _events


def recorded(db, actor, call: Callable):
    """(what `call` returned, the events of actor's organization it recorded)."""
    before = len(_events(db, actor.organization_id))
    result = call()
    return result, _events(db, actor.organization_id)[before:]


def last_event(db, organization_id: int) -> OutboxEvent:
    db.expire_all()
    return db.scalars(select(OutboxEvent).where(OutboxEvent.organization_id == organization_id)
                      .order_by(OutboxEvent.id.desc()).limit(1)).one()


# ---------------------------------------------------------------- users


def test_user_writes_record_their_events(actor, make_actor, stranger, db):
    c = actor.client
    response, events = recorded(db, actor, lambda: c.post("/api/users/", json={"username": "new", "email": "new@example.com"}))
    new_id = response.json()["id"]
    assert response.status_code == 201 and events == [("USER_CREATED", None, [new_id])]
    response, events = recorded(db, actor, lambda: c.post("/api/users/", json={"username": "bad", "email": "not-an-email"}))
    assert response.status_code == 400 and events == []

    response, events = recorded(db, actor, lambda: c.patch(f"/api/users/{new_id}/", json={"first_name": "Ann"}))
    assert response.status_code == 200 and events == [("USER_UPDATED", None, [new_id])]
    response, events = recorded(db, actor, lambda: c.patch("/api/current-user", json={"last_name": "Owner"}))
    assert response.status_code == 200 and events == [("USER_UPDATED", None, [actor.user_id])]
    response, events = recorded(db, actor, lambda: c.patch(f"/api/users/{stranger.user_id}/", json={"first_name": "X"}))
    assert response.status_code == 404 and events == []

    response, events = recorded(db, actor, lambda: c.patch("/api/current-user/hotkeys/", json={"custom_hotkeys": {"a:b": {"key": "ctrl+k"}}}))
    assert response.status_code == 200 and events == [("USER_UPDATED", None, [actor.user_id])]
    response, events = recorded(db, actor, lambda: c.patch("/api/current-user/hotkeys/", json={"custom_hotkeys": {"nocolon": {"key": "k"}}}))
    assert response.status_code == 400 and events == []

    member = make_actor("member@example.com", same_org_as=actor)
    response, events = recorded(db, actor, lambda: member.client.delete(f"/api/users/{new_id}/"))
    assert response.status_code == 403 and events == [], "only the owner deletes users"
    response, events = recorded(db, actor, lambda: c.delete(f"/api/users/{new_id}/"))
    assert response.status_code == 204 and events == [("USER_DELETED", None, [new_id])]
    assert last_event(db, actor.organization_id).data == {"email": "new@example.com"}
    assert _events(db, stranger.organization_id) == []

    # Last: the client's token stops working.
    response, events = recorded(db, actor, lambda: c.post("/api/current-user/reset-token/"))
    assert response.status_code == 201 and events == [("LEGACY_TOKEN_RESET", None, [actor.user_id])]


def test_a_member_without_an_organization_changes_their_account_without_events(actor, make_actor, db):
    mate = make_actor("mate@example.com", same_org_as=actor)
    assert actor.client.delete(f"/api/organizations/{actor.organization_id}/memberships/{mate.user_id}/").status_code == 204
    assert mate.client.patch("/api/current-user/hotkeys/", json={"custom_hotkeys": {}}).status_code == 200
    assert mate.client.post("/api/current-user/reset-token/").status_code == 201
    db.expire_all()
    assert db.scalars(select(OutboxEvent.kind).where(OutboxEvent.actor_id == mate.user_id)).all() == []


# ---------------------------------------------------------------- tokens


def test_token_writes_record_their_events(actor, client, db):
    c = actor.client
    response, events = recorded(db, actor, lambda: c.post("/api/token/"))
    assert response.status_code == 201
    [(kind, project_id, [first_id])] = events
    assert (kind, project_id) == ("TOKEN_CREATED", None)
    response, events = recorded(db, actor, lambda: c.post("/api/token/"))
    assert response.status_code == 409 and events == [], "one valid token at a time"

    pat = c.get("/api/token/").json()[0]["token"]
    response, events = recorded(db, actor, lambda: client.post("/api/token/blacklist/", json={"refresh": pat}))
    assert response.status_code == 204 and events == [("TOKEN_REVOKED", None, [first_id])]
    assert last_event(db, actor.organization_id).actor_id == actor.user_id
    response, events = recorded(db, actor, lambda: client.post("/api/token/blacklist/", json={"refresh": pat}))
    assert response.status_code == 404 and events == []

    full = c.post("/api/token/").json()["token"]
    response, events = recorded(db, actor, lambda: c.post("/api/token/rotate/", json={"refresh": full}))
    assert response.status_code == 200 and [kind for kind, _, _ in events] == ["TOKEN_CREATED"]
    response, events = recorded(db, actor, lambda: c.post("/api/token/rotate/", json={"refresh": full}))
    assert response.status_code == 400 and events == []

    response, events = recorded(db, actor, lambda: c.post("/api/jwt/settings", json={"api_token_ttl_days": 7}))
    assert response.status_code == 201 and events == [("ORGANIZATION_UPDATED", None, [actor.organization_id])]
    response, events = recorded(db, actor, lambda: c.post("/api/jwt/settings", json={"api_token_ttl_days": 0}))
    assert response.status_code == 400 and events == []


# ---------------------------------------------------------------- organizations


def test_organization_writes_record_their_events(actor, make_actor, stranger, db):
    c, org_id = actor.client, actor.organization_id
    response, events = recorded(db, actor, lambda: c.patch(f"/api/organizations/{org_id}", json={"title": "Acme"}))
    assert response.status_code == 200 and events == [("ORGANIZATION_UPDATED", None, [org_id])]
    response, events = recorded(db, actor, lambda: c.patch(f"/api/organizations/{org_id}", json={"contact_info": "nope"}))
    assert response.status_code == 400 and events == []
    assert c.patch(f"/api/organizations/{stranger.organization_id}", json={"title": "Mine"}).status_code == 404

    response, events = recorded(db, actor, lambda: c.post("/api/invite/reset-token"))
    assert response.status_code == 200 and events == [("INVITE_RESET", None, [org_id])]

    response, events = recorded(db, actor, lambda: c.patch("/api/session-policy/", json={"max_session_age": 60}))
    assert response.status_code == 200 and events == [("ORGANIZATION_UPDATED", None, [org_id])]
    response, events = recorded(db, actor, lambda: c.patch("/api/session-policy/", json={"max_session_age": 0}))
    assert response.status_code == 400 and events == []

    mate = make_actor("mate@example.com", same_org_as=actor)
    membership = f"/api/organizations/{org_id}/memberships/{{}}/"
    response, events = recorded(db, actor, lambda: c.delete(membership.format(actor.user_id)))
    assert response.status_code == 405 and events == []
    response, events = recorded(db, actor, lambda: c.delete(membership.format(mate.user_id)))
    assert response.status_code == 204 and events == [("MEMBER_REMOVED", None, [mate.user_id])]
    assert _events(db, stranger.organization_id) == []


def test_an_update_of_another_of_ones_organizations_is_recorded_there(actor, stranger, app, db):
    from core.db.unit_of_work import transaction
    from core.organizations.models import Organization
    from core.users.bootstrap import add_member
    from core.users.models import User

    with transaction(app.state.session_factory) as session:
        add_member(session, session.get(Organization, stranger.organization_id), session.get(User, actor.user_id))
    response, events = recorded(db, stranger, lambda: actor.client.patch(f"/api/organizations/{stranger.organization_id}",
                                                                         json={"title": "Shared"}))
    assert response.status_code == 200 and events == [("ORGANIZATION_UPDATED", None, [stranger.organization_id])]


# ---------------------------------------------------------------- file uploads


def test_file_upload_writes_record_their_events(actor, stranger, db):
    project_id = make_files_project(actor)
    first, second, third = upload_files(actor, project_id, ("a.png", b"a"), ("b.png", b"b"), ("c.png", b"c"))
    c = actor.client
    replace = lambda who: who.client.patch(f"/api/import/file-upload/{first}", files={"file": ("new.png", b"new")})  # noqa: E731
    response, events = recorded(db, actor, lambda: replace(actor))
    assert response.status_code == 200 and events == [("FILE_UPLOADS_UPDATED", project_id, [first])]
    response, events = recorded(db, actor, lambda: replace(stranger))
    assert response.status_code == 404 and events == []
    response, events = recorded(db, actor, lambda: c.patch(f"/api/import/file-upload/{first}", json={}))
    assert response.status_code == 200 and events == [], "nothing replaced"

    response, events = recorded(db, actor, lambda: c.delete(f"/api/import/file-upload/{first}"))
    assert response.status_code == 204 and events == [("FILE_UPLOADS_DELETED", project_id, [first])]
    response, events = recorded(db, actor, lambda: stranger.client.delete(f"/api/import/file-upload/{second}"))
    assert response.status_code == 404 and events == []

    many = f"/api/projects/{project_id}/file-uploads"
    response, events = recorded(db, actor, lambda: c.request("DELETE", many, json={"file_upload_ids": "all"}))
    assert response.status_code == 400 and events == []
    response, events = recorded(db, actor, lambda: c.request("DELETE", many, json={"file_upload_ids": [second, third]}))
    assert response.json() == {"deleted": 2} and events == [("FILE_UPLOADS_DELETED", project_id, [second, third])]
    response, events = recorded(db, actor, lambda: c.request("DELETE", many, json={}))
    assert response.json() == {"deleted": 0} and events == [], "nothing deleted"


# ---------------------------------------------------------------- export snapshots


def test_snapshot_writes_record_their_events(actor, stranger, exported_project, db):  # noqa: F811
    project_id = exported_project["project"]
    exports = f"/api/projects/{project_id}/exports/"
    response, events = recorded(db, actor, lambda: actor.client.post(exports, json={}))
    export_id = response.json()["id"]
    assert response.status_code == 201 and events == [("EXPORT_CREATED", project_id, [export_id])]
    response, events = recorded(db, actor, lambda: actor.client.post(exports, json={"task_filter_options": {"skipped": "never"}}))
    assert response.status_code == 400 and events == []
    assert wait_for_snapshot(actor, project_id, export_id)["status"] == "completed"

    convert = f"{exports}{export_id}/convert"
    response, events = recorded(db, actor, lambda: actor.client.post(convert, json={"export_type": "CSV"}))
    assert response.status_code == 200
    [(kind, event_project, [converted_id])] = events
    assert (kind, event_project) == ("EXPORT_CONVERTED", project_id)
    assert last_event(db, actor.organization_id).data == {"export_id": export_id, "export_type": "CSV"}
    response, events = recorded(db, actor, lambda: actor.client.post(convert, json={"export_type": "NOPE"}))
    assert response.status_code == 400 and events == []
    wait_for_snapshot(actor, project_id, export_id)

    response, events = recorded(db, actor, lambda: stranger.client.delete(f"{exports}{export_id}"))
    assert response.status_code == 404 and events == []
    response, events = recorded(db, actor, lambda: actor.client.delete(f"{exports}{export_id}"))
    assert response.status_code == 204 and events == [("EXPORT_DELETED", project_id, [export_id])]


# ---------------------------------------------------------------- Data Manager views


def test_view_writes_record_their_events(actor, stranger, db):
    project_id = make_project(actor)
    c = actor.client
    response, events = recorded(db, actor, lambda: create_view(actor, project_id, {"title": "a"}))
    first = response.json()["id"]
    assert response.status_code == 201 and events == [("VIEWS_CREATED", project_id, [first])]
    second = create_view(actor, project_id, {"title": "b"}).json()["id"]
    response, events = recorded(db, actor, lambda: create_view(actor, project_id, {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:nope", "operator": "equal", "type": "String", "value": "x"}]}}))
    assert response.status_code == 400 and events == []
    response, events = recorded(db, actor, lambda: create_view(stranger, project_id, {"title": "theirs"}))
    assert response.status_code == 400 and events == []

    response, events = recorded(db, actor, lambda: c.patch(f"/api/dm/views/{first}/", json={"data": {"title": "A"}}))
    assert response.status_code == 200 and events == [("VIEWS_UPDATED", project_id, [first])]
    response, events = recorded(db, actor, lambda: stranger.client.patch(f"/api/dm/views/{first}/", json={"data": {}}))
    assert response.status_code == 404 and events == []

    response, events = recorded(db, actor, lambda: c.post("/api/dm/views/order/", json={"project": project_id, "ids": [second, first]}))
    assert response.status_code == 200 and events == [("VIEWS_UPDATED", project_id, [first, second])]
    response, events = recorded(db, actor, lambda: c.post("/api/dm/views/order/", json={"project": project_id, "ids": [999999]}))
    assert response.status_code == 200 and events == [], "no view reordered"

    response, events = recorded(db, actor, lambda: c.delete(f"/api/dm/views/{first}/"))
    assert response.status_code == 204 and events == [("VIEWS_DELETED", project_id, [first])]
    response, events = recorded(db, actor, lambda: c.request("DELETE", "/api/dm/views/reset/", json={"project": project_id}))
    assert response.status_code == 204 and events == [("VIEWS_DELETED", project_id, [second])]
    response, events = recorded(db, actor, lambda: c.request("DELETE", "/api/dm/views/reset/", json={"project": project_id}))
    assert response.status_code == 204 and events == [], "nothing left to delete"


# ---------------------------------------------------------------- Data Manager actions


def performed(db, actor, project_id: int, action: str, body: dict | None = None):
    response, events = recorded(db, actor, lambda: act(actor, project_id, action, {"selectedItems": ALL, **(body or {})}))
    assert response.status_code == 200, response.text
    assert events[-1] == ("ACTION_PERFORMED", project_id, [])
    assert last_event(db, actor.organization_id).data == {"action": action}
    return events[:-1]


def annotation_ids(db, project_id: int) -> list[int]:
    from core.annotations.models import Annotation

    db.expire_all()
    return list(db.scalars(select(Annotation.id).where(Annotation.project_id == project_id).order_by(Annotation.id)))


def test_actions_record_what_they_change_in_the_request(actor, project, db):  # noqa: F811
    project_id, ids = project
    before = annotation_ids(db, project_id)
    events = performed(db, actor, project_id, "predictions_to_annotations")
    created = [i for i in annotation_ids(db, project_id) if i not in before]
    assert len(created) == 3 and events == [("ANNOTATIONS_CREATED", project_id, created)]
    assert performed(db, actor, project_id, "predictions_to_annotations") == [], "nothing left to convert"

    assert performed(db, actor, project_id, "cache_labels") == [("TASKS_UPDATED", project_id, ids)]
    events = performed(db, actor, project_id, "add_data_field", {"value_name": "x", "value_type": "String", "value": "v"})
    assert events == [("TASKS_UPDATED", project_id, ids)]
    events = performed(db, actor, project_id, "rename_labels", {"control_tag": "label", "old_label_name": "pos", "new_label_name": "yes"})
    assert [kind for kind, _, _ in events] == ["ANNOTATIONS_UPDATED"] and events[0][2]
    source = created[0]
    events = performed(db, actor, project_id, "propagate_annotations", {"source_annotation_id": source})
    assert [kind for kind, _, _ in events] == ["ANNOTATIONS_CREATED"] and len(events[0][2]) == 4

    assert performed(db, actor, project_id, "retrieve_tasks_predictions") == [], "no ML backend: nothing changes"
    events = performed(db, actor, project_id, "delete_tasks_predictions")
    assert [kind for kind, _, _ in events] == ["PREDICTIONS_DELETED"] and len(events[0][2]) == 3
    everything = annotation_ids(db, project_id)
    assert performed(db, actor, project_id, "delete_tasks_annotations") == [("ANNOTATIONS_DELETED", project_id, everything)]

    view = create_view(actor, project_id, {"title": "tab"}).json()["id"]
    events = performed(db, actor, project_id, "delete_tasks")
    assert events == [("TASKS_DELETED", project_id, ids), ("VIEWS_DELETED", project_id, [view])], "the last task takes the tabs"


def test_remove_duplicates_records_the_deleted_tasks_and_those_that_got_annotations(actor, db):
    project_id = make_project(actor)
    keeper, empty, annotated = import_tasks(actor, project_id, [
        {"data": {"text": "same"}, "annotations": [{"result": choice("pos")}]},
        {"data": {"text": "same"}},
        {"data": {"text": "same"}, "annotations": [{"result": choice("neg")}]},
    ])
    events = performed(db, actor, project_id, "remove_duplicates")
    assert events == [("TASKS_UPDATED", project_id, [keeper]), ("TASKS_DELETED", project_id, [empty, annotated])]


def test_refused_actions_record_nothing(actor, stranger, project, db):  # noqa: F811
    project_id, _ = project
    for who, action, body in [
        (stranger, "delete_tasks", {"selectedItems": ALL}),  # another organization's project
        (actor, "nope", {"selectedItems": ALL}),
        (actor, "add_data_field", {"selectedItems": ALL, "value_type": "String"}),
        (actor, "delete_tasks", {"selectedItems": "{not json"}),
    ]:
        response, events = recorded(db, actor, lambda: act(who, project_id, action, body))
        assert response.status_code in (400, 404) and events == [], (action, response.text)


def test_a_role_without_the_actions_permission_is_refused(app, actor, make_actor, project, db):  # noqa: F811
    project_id, _ = project
    annotator = make_actor("annotator@example.com", same_org_as=actor)
    db.query(OrganizationMember).filter_by(user_id=annotator.user_id).update({"role": "AN"})
    db.commit()
    app.state.settings = app.state.settings.with_(enforce_roles=True)
    response, events = recorded(db, actor, lambda: act(annotator, project_id, "delete_tasks", {"selectedItems": ALL}))
    assert response.status_code == 403 and events == []
    # The list shows only what the caller may run; the owner still sees every action.
    assert annotator.client.get("/api/dm/actions/", params={"project": project_id}).json() == []
    assert len(actor.client.get("/api/dm/actions/", params={"project": project_id}).json()) == 6


def test_actions_run_as_jobs_record_their_events_batch_by_batch(app, actor, project, db, monkeypatch):  # noqa: F811
    project_id, ids = project
    monkeypatch.setattr(dm_jobs, "BATCH_SIZE", 2)
    app.state.settings = app.state.settings.with_(dm_action_job_threshold=3)

    def run_as_job(action: str) -> int:
        job_id = act(actor, project_id, action, {"selectedItems": ALL}).json()["job"]
        assert wait_for_job(app.state.session_factory, job_id).status == COMPLETED
        return job_id

    before = annotation_ids(db, project_id)
    job_id, events = recorded(db, actor, lambda: run_as_job("predictions_to_annotations"))
    created = [i for i in annotation_ids(db, project_id) if i not in before]
    # The request records ACTION_PERFORMED (and commits) before the job starts; tasks 2 and 3, with
    # the predictions, fall in the job's second batch of two: one event for that transaction.
    assert events == [("ACTION_PERFORMED", project_id, []), ("ANNOTATIONS_CREATED", project_id, created)]
    assert len(created) == 3
    performed = db.scalars(select(OutboxEvent.data).where(OutboxEvent.kind == "ACTION_PERFORMED")).all()
    assert performed == [{"action": "predictions_to_annotations", "job": job_id}]

    _, events = recorded(db, actor, lambda: run_as_job("delete_tasks"))
    assert events == [("ACTION_PERFORMED", project_id, []), ("TASKS_DELETED", project_id, ids[0:2]),
                      ("TASKS_DELETED", project_id, ids[2:4]), ("TASKS_DELETED", project_id, ids[4:5])]


def test_a_project_recount_records_its_tasks_updated_batch_by_batch(app, actor, project, db, monkeypatch):  # noqa: F811
    project_id, ids = project
    monkeypatch.setattr(recount_project, "BATCH_SIZE", 3)
    def recount():
        job = call_service(app, actor, recount_project.request_project_recount, project_id)
        return wait_for_job(app.state.session_factory, job.id)

    job, events = recorded(db, actor, recount)
    assert job.status == COMPLETED
    # The request only queues the job; each batch records its tasks.
    assert events == [("TASKS_UPDATED", project_id, ids[:3]), ("TASKS_UPDATED", project_id, ids[3:])]
    assert last_event(db, actor.organization_id).actor_id == actor.user_id


@pytest.mark.parametrize("path", ["/api/users/", "/api/dm/views/", "/api/token/"])
def test_reads_record_nothing(actor, db, path):
    _, events = recorded(db, actor, lambda: actor.client.get(path))
    assert events == []
