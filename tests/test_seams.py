"""The seams every domain builds on: declared use cases (permission + events), the outbox, the
permission policy and the unit of work."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from sqlalchemy import select

import core
from core.auth import policy
from core.context import Context
from core.db.unit_of_work import after_commit, on_rollback, run_in_transaction, transaction
from core.events import OUTBOX_NOTIFIER, Event, record_event
from core.events.catalog import KINDS, WEBHOOK_ACTIONS
from core.events.models import OutboxEvent
from core.events.outbox import dispatch_pending, register_subscriber, unregister_subscriber
from core.organizations.models import OrganizationMember

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/><Choice value="b"/></Choices></View>'
RESULT = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["a"]}}]

# Functions that take a Context but are the seams themselves, not use cases.
SEAMS = {
    "core.auth.policy.require",
    "core.auth.policy.can",
    "core.auth.policy.effective_role",
    "core.auth.service.sign_in",
    "core.events.record",
    "core.jobs.service.start_job",  # called by use cases (imports, exports, actions) that checked already
    "core.files.storage.store",  # the same for the files they store
}


def _core_functions_taking_ctx():
    for module_info in pkgutil.walk_packages(core.__path__, "core."):
        if ".migrations" in module_info.name:
            continue
        module = importlib.import_module(module_info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue
            parameters = list(inspect.signature(function).parameters)
            if parameters and parameters[0] == "ctx":
                yield f"{module.__name__}.{name}", function


def test_every_use_case_declares_its_permission():
    """A public core function that takes the caller's context is a use case: it must say what it
    needs (`@use_case(PERMISSION, ...)`), so REST and GraphQL cannot skip the check."""
    undeclared = [name for name, function in _core_functions_taking_ctx()
                  if name not in SEAMS and not hasattr(function, "use_case")]
    assert undeclared == [], f"use cases without @use_case: {undeclared}"


def test_every_write_use_case_records_an_event():
    declared = [function.use_case for _, function in _core_functions_taking_ctx() if hasattr(function, "use_case")]
    assert len(declared) > 60
    silent = [uc.name for uc in declared if policy.PERMISSIONS[uc.permission].writes and not uc.emits]
    assert silent == [], f"write use cases that record no event: {silent}"
    unknown = [(uc.name, kind) for uc in declared for kind in uc.emits if kind not in KINDS]
    assert unknown == []


def test_every_declared_event_is_recorded_by_its_use_case():
    """`emits=` is not decoration: each kind a use case declares appears in a record() call in
    the use case's module (or the modules it delegates to)."""
    sources = {path: path.read_text() for path in Path(core.__file__).parent.rglob("*.py")}
    recorded = {kind for kind in KINDS if any(f"catalog.{kind}" in text or f" {kind}," in text or f"({kind}" in text
                                            for path, text in sources.items() if "events/catalog.py" not in str(path))}
    declared = {kind for _, function in _core_functions_taking_ctx() if hasattr(function, "use_case")
                for kind in function.use_case.emits}
    assert declared <= recorded


def test_webhook_actions_are_label_studios():
    assert [kind.key for kind in WEBHOOK_ACTIONS] == [
        "PROJECT_CREATED", "PROJECT_UPDATED", "PROJECT_DELETED", "TASKS_CREATED", "TASKS_DELETED", "ANNOTATION_CREATED",
        "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED", "LABEL_LINK_CREATED", "LABEL_LINK_UPDATED",
        "LABEL_LINK_DELETED", "REVIEW_CREATED", "REVIEW_UPDATED", "REVIEWS_DELETED",
    ]


def _events(db, organization_id: int) -> list[tuple[str, int | None, list[int]]]:
    db.expire_all()
    rows = db.scalars(select(OutboxEvent).where(OutboxEvent.organization_id == organization_id).order_by(OutboxEvent.id))
    return [(row.kind, row.project_id, row.object_ids) for row in rows]


def test_rest_writes_record_their_events_in_order(actor, db):
    c = actor.client
    project = c.post("/api/projects/", json={"title": "proj", "label_config": CONFIG}).json()
    pid = project["id"]
    task_ids = c.post(f"/api/projects/{pid}/import?return_task_ids=true", json=[{"text": "a"}, {"text": "b"}]).json()["task_ids"]
    annotation = c.post(f"/api/tasks/{task_ids[0]}/annotations/", json={"result": RESULT}).json()
    assert c.patch(f"/api/annotations/{annotation['id']}/", json={"result": RESULT}).status_code == 200
    assert c.patch(f"/api/projects/{pid}/", json={"title": "renamed"}).status_code == 200
    assert c.delete(f"/api/annotations/{annotation['id']}/").status_code == 204
    assert c.delete(f"/api/tasks/{task_ids[1]}/").status_code == 204
    assert c.delete(f"/api/projects/{pid}/").status_code == 204
    kinds = [kind for kind, _, _ in _events(db, actor.organization_id)]
    assert kinds == ["PROJECT_CREATED", "TASKS_CREATED", "ANNOTATION_CREATED", "ANNOTATION_UPDATED", "PROJECT_UPDATED",
                     "ANNOTATIONS_DELETED", "TASKS_DELETED", "PROJECT_DELETED"]
    events = _events(db, actor.organization_id)
    assert events[1] == ("TASKS_CREATED", pid, task_ids)
    assert events[2] == ("ANNOTATION_CREATED", pid, [annotation["id"]])
    assert all(project_id == pid for _, project_id, _ in events)


def test_a_refused_write_records_no_event(actor, db):
    c = actor.client
    assert c.post("/api/projects/", json={"title": "x" * 100_000}).status_code == 400
    assert _events(db, actor.organization_id) == []


def test_events_stay_in_their_organization(actor, stranger, db):
    actor.client.post("/api/projects/", json={"title": "mine"})
    assert _events(db, stranger.organization_id) == []
    assert [kind for kind, _, _ in _events(db, actor.organization_id)] == ["PROJECT_CREATED"]


@pytest.fixture
def quiet_outbox(app):
    """No background dispatch: the test dispatches itself and sees exactly what it dispatched."""
    factory = app.state.session_factory
    factory.configure(info={**factory.kw.get("info", {}), OUTBOX_NOTIFIER: lambda: None})


def test_dispatch_hands_each_event_to_subscribers_once_in_order(app, actor, quiet_outbox):
    seen: list[tuple[str, int | None]] = []
    def handle(session, events):
        if session.get_bind().url == app.state.engine.url:  # not a previous test's app dispatching late
            seen.extend((e.kind, e.project_id) for e in events)

    register_subscriber("test-seams", handle)
    try:
        first = actor.client.post("/api/projects/", json={"title": "one"}).json()["id"]
        second = actor.client.post("/api/projects/", json={"title": "two"}).json()["id"]
        dispatch_pending(app.state.session_factory)
        dispatch_pending(app.state.session_factory)  # nothing left: nobody sees an event twice
    finally:
        unregister_subscriber("test-seams")
    mine = [item for item in seen if item[1] in (first, second)]
    assert mine == [("PROJECT_CREATED", first), ("PROJECT_CREATED", second)]


def test_a_failing_subscriber_leaves_the_events_pending(app, actor, db, quiet_outbox):
    def fail(session, events):
        raise RuntimeError("subscriber down")

    register_subscriber("test-failing", fail)
    try:
        actor.client.post("/api/projects/", json={"title": "one"})
        with pytest.raises(RuntimeError):
            dispatch_pending(app.state.session_factory)
    finally:
        unregister_subscriber("test-failing")
    db.expire_all()
    assert db.scalar(select(OutboxEvent.dispatched_at).where(OutboxEvent.organization_id == actor.organization_id)) is None
    seen = []
    register_subscriber("test-recovered", lambda session, events: seen.extend(e.kind for e in events))
    try:
        dispatch_pending(app.state.session_factory)
    finally:
        unregister_subscriber("test-recovered")
    assert "PROJECT_CREATED" in seen


def test_unknown_event_kinds_are_refused(app, actor):
    with transaction(app.state.session_factory) as session, pytest.raises(ValueError):
        record_event(session, Event("SOMETHING_HAPPENED", actor.organization_id))


def test_unit_of_work_runs_hooks_after_commit_or_rollback(app):
    ran: list[str] = []
    with transaction(app.state.session_factory) as session:
        after_commit(session, lambda: ran.append("committed"))
        on_rollback(session, lambda: ran.append("never"))
        assert ran == []
    assert ran == ["committed"]
    session = app.state.session_factory()
    with pytest.raises(ZeroDivisionError):
        def fail():
            after_commit(session, lambda: ran.append("never"))
            on_rollback(session, lambda: ran.append("rolled back"))
            return 1 / 0
        run_in_transaction(session, fail)
    # The next transaction on the same session starts without the failed one's hooks.
    run_in_transaction(session, lambda: None)
    session.close()
    assert ran == ["committed", "rolled back"]


def test_keyed_after_commit_hooks_run_once_per_transaction(app):
    ran: list[int] = []
    with transaction(app.state.session_factory) as session:
        for _ in range(3):
            after_commit(session, lambda: ran.append(1), key="notify")
    assert ran == [1]


def test_failed_import_removes_the_files_it_stored(actor, settings):
    c = actor.client
    pid = c.post("/api/projects/", json={"title": "proj", "label_config": CONFIG}).json()["id"]
    response = c.post(f"/api/projects/{pid}/import", files={"file": ("bad.json", b"[1, 2", "application/json")})
    assert response.status_code == 400
    upload_dir = Path(settings.data_dir) / "upload" / str(pid)
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


# ---------------------------------------------------------------- permission policy


def test_members_have_the_owners_rights_by_default(actor, make_actor, db):
    annotator = make_actor("annotator@example.com", same_org_as=actor)
    db.query(OrganizationMember).filter_by(user_id=annotator.user_id).update({"role": policy.ANNOTATOR})
    db.commit()
    pid = actor.client.post("/api/projects/", json={"title": "proj"}).json()["id"]
    assert annotator.client.delete(f"/api/projects/{pid}/").status_code == 204


@pytest.fixture
def enforcing_app(settings):
    from labelgraph.app import create_app

    application = create_app(settings.with_(enforce_roles=True))
    yield application
    application.state.engine.dispose()


def test_enforced_roles_refuse_what_a_role_may_not_do(enforcing_app, db_url):
    from starlette.testclient import TestClient

    from core.users.bootstrap import ensure_user

    with transaction(enforcing_app.state.session_factory) as session:
        owner, owner_key = ensure_user(session, "owner@example.com", "pass-1234")
        org_id = owner.active_organization_id
        from core.organizations.models import Organization
        annotator, annotator_key = ensure_user(session, "annotator@example.com", "pass-1234",
                                               organization=session.get(Organization, org_id))
        annotator.active_organization_id = org_id
        session.flush()
        session.query(OrganizationMember).filter_by(user_id=annotator.id, organization_id=org_id).update({"role": policy.ANNOTATOR})
    with TestClient(enforcing_app, headers={"Authorization": f"Token {owner_key}"}) as owner_client, \
            TestClient(enforcing_app, headers={"Authorization": f"Token {annotator_key}"}) as annotator_client:
        pid = owner_client.post("/api/projects/", json={"title": "proj", "label_config": CONFIG}).json()["id"]
        task_id = owner_client.post(f"/api/projects/{pid}/import?return_task_ids=true", json=[{"text": "a"}]).json()["task_ids"][0]
        assert annotator_client.get(f"/api/projects/{pid}/").status_code == 200
        refused = annotator_client.delete(f"/api/projects/{pid}/")
        assert refused.status_code == 403 and refused.json()["status_code"] == 403
        assert annotator_client.post(f"/api/projects/{pid}/import", json=[{"text": "b"}]).status_code == 403
        assert annotator_client.post(f"/api/tasks/{task_id}/annotations/", json={"result": RESULT}).status_code == 201
        assert owner_client.get(f"/api/projects/{pid}/").json()["task_number"] == 1
        graphql = annotator_client.post("/graphql", json={"query": 'mutation { deleteProject(id: "%s") { __typename } }' % _global_id("Project", pid)})
        assert graphql.json()["data"]["deleteProject"]["__typename"] == "PermissionDeniedError"
        assert owner_client.get(f"/api/projects/{pid}/").status_code == 200


def _global_id(type_name: str, pk: int) -> str:
    from graphql_api.relay import to_global_id

    return to_global_id(type_name, pk)


def test_deactivated_members_may_do_nothing(app, actor):
    session = app.state.session_factory()
    ctx = Context(session=session, settings=app.state.settings.with_(enforce_roles=True), user=object(),
                  organization_id=actor.organization_id, role=policy.DEACTIVATED)
    try:
        for permission in policy.PERMISSIONS:
            assert not policy.can(ctx, permission)
    finally:
        session.close()


def test_roles_are_nested_from_annotator_to_owner():
    order = [policy.ANNOTATOR, policy.REVIEWER, policy.MANAGER, policy.ADMINISTRATOR]
    for lower, higher in zip(order, order[1:]):
        assert policy.ROLE_PERMISSIONS[lower] < policy.ROLE_PERMISSIONS[higher]
    # An administrator may do all an owner may (Label Studio: only ownership itself differs).
    assert policy.ROLE_PERMISSIONS[policy.ADMINISTRATOR] == policy.ROLE_PERMISSIONS[policy.OWNER] == frozenset(policy.PERMISSIONS)


def test_commits_wake_the_dispatcher_without_a_sweep(app, actor):
    """The after-commit notifier asks the job system for a dispatch: a subscriber sees the event
    shortly after the request, with no explicit dispatch and no sweep."""
    import threading

    seen: list[str] = []
    arrived = threading.Event()

    def handle(session, events):
        seen.extend(e.kind for e in events)
        arrived.set()

    register_subscriber("test-notified", handle, kinds=["PROJECT_CREATED"])
    try:
        actor.client.post("/api/projects/", json={"title": "notified"})
        assert arrived.wait(10)
    finally:
        unregister_subscriber("test-notified")
        app.state.jobs.stop()
    assert seen == ["PROJECT_CREATED"]


def test_without_subscribers_old_events_are_pruned(app, actor, db, monkeypatch):
    from datetime import timedelta

    from core.events import outbox
    from core.events.outbox import prune_events

    monkeypatch.setattr(outbox, "_SUBSCRIBERS", {})  # domains (webhooks) subscribe at start-up
    actor.client.post("/api/projects/", json={"title": "pruned"})
    prune_events(app.state.session_factory, retention=timedelta(hours=1))
    assert len(_events(db, actor.organization_id)) == 1  # young events stay
    prune_events(app.state.session_factory, retention=timedelta(seconds=-1))
    assert _events(db, actor.organization_id) == []
