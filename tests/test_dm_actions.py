"""Data Manager actions (/api/dm/actions/) over selections (all + excluded, included, filters,
a saved view), with Label Studio 1.23.2's responses (checked against a running Label Studio),
task counters after the writes, large selections as "dm_action" jobs on the in-process worker,
organization scoping, and bad input refused with nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.data_manager import jobs as dm_jobs
from core.data_manager.models import View
from core.jobs.models import COMPLETED, Job
from core.predictions.models import Prediction
from core.tasks.models import Task
from tests.openapi_contract import schema_errors, spec
from tests.test_dm_views import create_view, make_project
from tests.test_jobs import wait_for_job

ALL = {"all": True, "excluded": []}


def choice(value: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


def import_tasks(actor, project_id: int, tasks: list[dict]) -> list[int]:
    response = actor.client.post(f"/api/projects/{project_id}/import", params={"return_task_ids": "true"}, json=tasks)
    assert response.status_code == 201, response.text
    return response.json()["task_ids"]


def act(actor, project_id: int, action: str | None, body=None, **params):
    query = {"project": project_id, **params}
    if action is not None:
        query["id"] = action
    return actor.client.post("/api/dm/actions/", params=query, json=body if body is not None else {})


def tasks_of(db, project_id: int) -> dict[int, Task]:
    db.expire_all()
    return {task.id: task for task in db.scalars(select(Task).where(Task.project_id == project_id))}


def count(db, model, **where) -> int:
    db.expire_all()
    return db.scalar(select(func.count(model.id)).filter_by(**where))


@pytest.fixture
def project(actor):
    """Five tasks: 0 and 1 annotated (1 twice), 2 and 3 with predictions, 4 bare."""
    project_id = make_project(actor, "Actions")
    ids = import_tasks(actor, project_id, [
        {"data": {"text": "t0"}, "annotations": [{"result": choice("pos")}]},
        {"data": {"text": "t1"}, "annotations": [{"result": choice("neg")}, {"result": choice("pos")}]},
        {"data": {"text": "t2"}, "predictions": [{"model_version": "m1", "result": choice("neg")}]},
        {"data": {"text": "t3"}, "predictions": [{"model_version": "m1", "result": choice("pos")},
                                                 {"model_version": "m2", "result": choice("neg")}]},
        {"data": {"text": "t4"}},
    ])
    return project_id, ids


def test_actions_list_as_label_studio(actor, stranger, project):
    project_id, _ = project
    response = actor.client.get("/api/dm/actions/", params={"project": project_id})
    assert response.status_code == 200
    actions = response.json()
    assert [(a["id"], a["order"], a["permission"]) for a in actions] == [
        ("retrieve_tasks_predictions", 90, "predictions.any"),
        ("predictions_to_annotations", 91, "tasks.change"),
        ("remove_duplicates", 95, ["projects.change", "tasks.delete"]),
        ("delete_tasks", 100, "tasks.delete"),
        ("delete_tasks_annotations", 101, ["tasks.change", "annotations.delete"]),
        ("delete_tasks_predictions", 102, "predictions.any"),
    ]
    delete_tasks = actions[3]
    assert delete_tasks == {"id": "delete_tasks", "title": "Delete Tasks", "order": 100, "permission": "tasks.delete", "reload": True,
                            "dialog": {"text": "You are going to delete the selected tasks. Please confirm your action.", "type": "confirm"}}
    assert actions[1]["dialog"]["form"] is None and actions[2]["experimental"] is False
    # The spec's item schema, apart from Label Studio's `reload` flag that it does not declare.
    item_schema = spec()["paths"]["/api/dm/actions/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    for action in actions:
        assert schema_errors({k: v for k, v in action.items() if k != "reload"}, item_schema) == []

    assert stranger.client.get("/api/dm/actions/", params={"project": project_id}).status_code == 404
    assert actor.client.get("/api/dm/actions/", params={"project": "abc"}).status_code == 404
    assert actor.client.get("/api/dm/actions/").status_code == 404


def test_delete_tasks_included_excluded_and_filtered(actor, project, db):
    project_id, ids = project
    create_view(actor, project_id, {"title": "tab"})

    response = act(actor, project_id, "delete_tasks", {"selectedItems": {"all": False, "included": [ids[4]]}})
    assert response.status_code == 200
    assert response.json() == {"processed_items": 1, "reload": False, "detail": "Deleted 1 tasks"}
    assert sorted(tasks_of(db, project_id)) == ids[:4]

    # Filters narrow "all but excluded": tasks with annotations, except task 0.
    filters = {"conjunction": "and", "items": [{"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}
    response = act(actor, project_id, "delete_tasks", {"selectedItems": {"all": True, "excluded": [ids[0]]}, "filters": filters})
    assert response.json() == {"processed_items": 1, "reload": False, "detail": "Deleted 1 tasks"}
    assert sorted(tasks_of(db, project_id)) == [ids[0], ids[2], ids[3]]
    assert count(db, Annotation, project_id=project_id) == 1, "the deleted task's annotations went with it"

    summary = actor.client.get(f"/api/projects/{project_id}/").json()
    assert (summary["task_number"], summary["total_annotations_number"], summary["total_predictions_number"]) == (3, 1, 3)

    # Deleting the last tasks drops the project's tabs and asks the frontend to reload.
    response = act(actor, project_id, "delete_tasks", {"selectedItems": ALL})
    assert response.json() == {"processed_items": 3, "reload": True, "detail": "Deleted 3 tasks"}
    assert tasks_of(db, project_id) == {} and count(db, View, project_id=project_id) == 0
    assert count(db, Prediction, project_id=project_id) == 0


def test_delete_annotations_refreshes_counters(actor, make_actor, project, db):
    project_id, ids = project
    teammate = make_actor("teammate@example.com", same_org_as=actor)
    response = teammate.client.post(f"/api/tasks/{ids[0]}/annotations/", json={"result": choice("neg")})
    assert response.status_code == 201

    # Only the chosen annotator's annotations.
    response = act(actor, project_id, "delete_tasks_annotations", {"selectedItems": ALL, "annotator": str(teammate.user_id)})
    assert response.json() == {"processed_items": 1, "detail": "Deleted 1 annotations"}
    assert count(db, Annotation, completed_by_id=teammate.user_id) == 0
    assert tasks_of(db, project_id)[ids[0]].total_annotations == 1

    response = act(actor, project_id, "delete_tasks_annotations", {"selectedItems": {"all": False, "included": [ids[1], ids[4]]}})
    assert response.json() == {"processed_items": 2, "detail": "Deleted 2 annotations"}
    tasks = tasks_of(db, project_id)
    assert (tasks[ids[1]].total_annotations, tasks[ids[1]].is_labeled, tasks[ids[1]].updated_by_id) == (0, False, actor.user_id)
    assert (tasks[ids[0]].total_annotations, tasks[ids[0]].is_labeled) == (1, True), "not selected: untouched"
    assert tasks[ids[4]].updated_by_id is None, "a task that lost nothing is not marked updated"


def test_delete_predictions_refreshes_counters(actor, project, db):
    project_id, ids = project
    response = act(actor, project_id, "delete_tasks_predictions", {"selectedItems": {"all": True, "excluded": [ids[2]]}})
    assert response.json() == {"processed_items": 2, "detail": "Deleted 2 predictions"}
    tasks = tasks_of(db, project_id)
    assert (tasks[ids[2]].total_predictions, tasks[ids[3]].total_predictions) == (1, 0)
    assert actor.client.get(f"/api/projects/{project_id}/").json()["total_predictions_number"] == 1


def test_predictions_to_annotations(actor, project, db):
    project_id, ids = project
    response = act(actor, project_id, "predictions_to_annotations", {"selectedItems": ALL, "model_version": "m1"})
    assert response.status_code == 200 and response.json() == {"detail": "Created 2 annotations"}
    created = db.scalars(select(Annotation).where(Annotation.parent_prediction_id.is_not(None)).order_by(Annotation.id)).all()
    predictions = {p.id: p for p in db.scalars(select(Prediction))}
    assert [(a.task_id, a.completed_by_id, a.result, predictions[a.parent_prediction_id].model_version) for a in created] == [
        (ids[2], actor.user_id, choice("neg"), "m1"),
        (ids[3], actor.user_id, choice("pos"), "m1"),
    ]
    tasks = tasks_of(db, project_id)
    assert (tasks[ids[2]].total_annotations, tasks[ids[2]].is_labeled, tasks[ids[2]].updated_by_id) == (1, True, actor.user_id)

    # A prediction already turned into an annotation is not converted again.
    assert act(actor, project_id, "predictions_to_annotations", {"selectedItems": ALL}).json() == {"detail": "Created 1 annotations"}
    assert act(actor, project_id, "predictions_to_annotations", {"selectedItems": ALL}).json() == {"detail": "Created 0 annotations"}
    response = actor.client.get(f"/api/tasks/{ids[3]}/annotations/").json()
    assert sorted(a["result"][0]["value"]["choices"][0] for a in response) == ["neg", "pos"]


def test_remove_duplicates_keeps_what_label_studio_keeps(actor, db):
    project_id = make_project(actor, "Duplicates")
    ids = import_tasks(actor, project_id, [
        {"data": {"text": "a"}},
        {"data": {"text": "a"}, "annotations": [{"result": choice("pos")}]},
        {"data": {"text": "a"}},
        {"data": {"text": "c"}},
        {"data": {"text": "c"}, "annotations": [{"result": choice("pos")}]},
        {"data": {"text": "c"}, "annotations": [{"result": choice("neg")}, {"result": choice("neg"), "was_cancelled": True}]},
        {"data": {"text": "d"}},
        {"data": {"text": "d"}},
        {"data": {"text": "unique"}},
    ])
    response = act(actor, project_id, "remove_duplicates", {"selectedItems": ALL})
    assert response.status_code == 200 and response.json() == {}
    tasks = tasks_of(db, project_id)
    # First annotated task of each group (annotations of the later ones moved onto it), else the first.
    assert sorted(tasks) == [ids[1], ids[4], ids[6], ids[8]]
    assert (tasks[ids[4]].total_annotations, tasks[ids[4]].cancelled_annotations) == (2, 1)
    assert count(db, Annotation, task_id=ids[4]) == 3 and count(db, Annotation, project_id=project_id) == 4

    # The selection's ordering decides which task comes first.
    more = import_tasks(actor, project_id, [{"data": {"text": "z"}}, {"data": {"text": "z"}}])
    act(actor, project_id, "remove_duplicates", {"selectedItems": {"all": False, "included": more}, "ordering": ["-tasks:id"]})
    assert more[1] in tasks_of(db, project_id) and more[0] not in tasks_of(db, project_id)


def test_cache_labels_writes_a_data_column(actor, project, db):
    project_id, ids = project
    response = act(actor, project_id, "cache_labels", {"selectedItems": ALL, "control_tag": "ALL", "with_counters": "Yes", "source": "Annotations"})
    assert response.status_code == 200 and response.json() == {}
    tasks = tasks_of(db, project_id)
    assert [tasks[task_id].data for task_id in ids[:3]] == [
        {"text": "t0", "cache_all": "pos: 1"},
        {"text": "t1", "cache_all": "neg: 1, pos: 1"},
        {"text": "t2", "cache_all": ""},
    ]
    act(actor, project_id, "cache_labels", {"selectedItems": {"all": False, "included": [ids[3]]}, "control_tag": "label",
                                            "with_counters": "No", "source": "predictions"})
    assert tasks_of(db, project_id)[ids[3]].data == {"text": "t3", "cache_all": "", "cache_predictions_label": "neg, pos"}
    response = act(actor, project_id, "cache_labels", {"selectedItems": ALL, "source": "drafts"})
    assert response.status_code == 400


def test_retrieve_predictions_without_ml_backend(actor, project):
    project_id, ids = project
    response = act(actor, project_id, "retrieve_tasks_predictions", {"selectedItems": {"all": False, "included": ids[:2]}})
    assert response.json() == {"processed_items": 2, "detail": "Retrieved 2 predictions"}


def test_selection_from_a_saved_view_wins_over_the_body(actor, project, db):
    project_id, ids = project
    view = create_view(actor, project_id, {
        "filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:total_predictions", "operator": "greater", "type": "Number", "value": 0}]},
        "selectedItems": {"all": True, "excluded": [ids[3]]},
    }).json()
    # The view's selectedItems (stored in its data) are not Label Studio's selected_items column: all filtered tasks.
    response = act(actor, project_id, "delete_tasks", {"selectedItems": {"all": False, "included": [ids[0]]}}, view=view["id"])
    assert response.json()["processed_items"] == 2
    assert sorted(tasks_of(db, project_id)) == [ids[0], ids[1], ids[4]]

    other_view = create_view(actor, make_project(actor, "elsewhere")).json()
    response = act(actor, project_id, "delete_tasks", {"selectedItems": ALL}, view=other_view["id"])
    assert response.status_code == 400 and len(tasks_of(db, project_id)) == 3


def test_large_selection_runs_as_a_job(app, actor, project, db, monkeypatch):
    project_id, ids = project
    monkeypatch.setattr(dm_jobs, "BATCH_SIZE", 2)
    app.state.settings = app.state.settings.with_(dm_action_job_threshold=3)

    response = act(actor, project_id, "predictions_to_annotations", {"selectedItems": ALL})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"detail", "job"}
    job = wait_for_job(app.state.session_factory, body["job"])
    assert job.status == COMPLETED, job.error
    assert job.result == {"detail": "Created 3 annotations"} and (job.progress_done, job.progress_total) == (5, 5)
    assert job.kind == "dm_action" and job.project_id == project_id and job.created_by_id == actor.user_id
    assert tasks_of(db, project_id)[ids[3]].total_annotations == 2

    response = act(actor, project_id, "delete_tasks", {"selectedItems": {"all": True, "excluded": [ids[0]]}})
    body = response.json()
    assert body == {"processed_items": 0, "reload": True, "detail": f"Delete Tasks: running in the background as job {body['job']}", "job": body["job"]}
    job = wait_for_job(app.state.session_factory, body["job"])
    assert job.status == COMPLETED, job.error
    assert job.result == {"processed_items": 4, "reload": False, "detail": "Deleted 4 tasks"}
    assert sorted(tasks_of(db, project_id)) == [ids[0]]
    assert db.get(Job, body["job"]).payload["task_ids"] == ids[1:]

    # A small selection still runs in the request.
    assert act(actor, project_id, "delete_tasks", {"selectedItems": ALL}).json() == {"processed_items": 1, "reload": True, "detail": "Deleted 1 tasks"}


def test_other_organizations_cannot_act(actor, stranger, project, db):
    project_id, ids = project
    for action in ("delete_tasks", "delete_tasks_annotations", "predictions_to_annotations"):
        response = act(stranger, project_id, action, {"selectedItems": ALL})
        assert response.status_code == 404
    # Ids of another project's tasks in a selection touch nothing.
    own_project = make_project(stranger, "theirs")
    response = act(stranger, own_project, "delete_tasks", {"selectedItems": {"all": False, "included": ids}})
    assert response.json()["processed_items"] == 0
    assert len(tasks_of(db, project_id)) == 5 and count(db, Annotation, project_id=project_id) == 3


def test_bad_input_writes_nothing(actor, project, db):
    project_id, ids = project
    create_view(actor, project_id)
    bad = {
        "unknown action": ("remove_everything", {"selectedItems": ALL}, 400),
        "missing action": (None, {"selectedItems": ALL}, 422),
        "selectedItems not an object": ("delete_tasks", {"selectedItems": [1, 2]}, 400),
        "selectedItems bad JSON": ("delete_tasks", {"selectedItems": "{not json"}, 400),
        "selectedItems without all": ("delete_tasks", {"selectedItems": {"included": [ids[0]]}}, 400),
        "included not ids": ("delete_tasks", {"selectedItems": {"all": False, "included": ["x"]}}, 400),
        "unknown filter column": ("delete_tasks", {"selectedItems": ALL, "filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:no_such_column", "operator": "equal", "type": "Number", "value": 1}]}}, 400),
        "unknown filter operator": ("delete_tasks", {"selectedItems": ALL, "filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:id", "operator": "resembles", "type": "Number", "value": 1}]}}, 400),
        "bad annotator": ("delete_tasks_annotations", {"selectedItems": ALL, "annotator": "someone"}, 400),
        "bad model version": ("predictions_to_annotations", {"selectedItems": ALL, "model_version": {"a": 1}}, 400),
        "body not an object": ("delete_tasks", [1, 2], 400),
    }
    for name, (action, body, status) in bad.items():
        response = act(actor, project_id, action, body)
        assert response.status_code == status, (name, response.text)
        assert "detail" in response.json(), name
    assert act(actor, project_id, "delete_tasks", {"selectedItems": ALL}, view=999999).status_code == 404
    assert act(actor, 999999, "delete_tasks", {"selectedItems": ALL}).status_code == 404
    assert len(tasks_of(db, project_id)) == 5
    assert (count(db, Annotation, project_id=project_id), count(db, Prediction, project_id=project_id)) == (3, 3)
    assert count(db, View, project_id=project_id) == 1
    assert count(db, Job) == 0


def test_experimental_actions_run_on_post(actor, project, db):
    project_id, ids = project
    listed = {a["id"] for a in actor.client.get("/api/dm/actions/", params={"project": project_id}).json()}
    assert not listed & {"add_data_field", "propagate_annotations", "rename_labels", "cache_labels"}

    response = act(actor, project_id, "add_data_field", {"selectedItems": ALL, "value_name": "n", "value_type": "Number", "value": "3"})
    assert response.json() == {"detail": "Updated 5 tasks"}
    response = act(actor, project_id, "add_data_field", {"selectedItems": {"all": True, "excluded": [ids[0]]},
                                                         "value_name": "r", "value_type": "Expression", "value": "range(10)"})
    assert response.json() == {"detail": "Updated 4 tasks"}
    act(actor, project_id, "add_data_field", {"selectedItems": ALL, "value_name": "text", "value_type": "Expression", "value": "replace('t', 'T')"})
    tasks = tasks_of(db, project_id)
    assert [tasks[task_id].data for task_id in ids[:3]] == [
        {"text": "T0", "n": 3.0}, {"text": "T1", "n": 3.0, "r": 10}, {"text": "T2", "n": 3.0, "r": 11},
    ]
    act(actor, project_id, "add_data_field", {"selectedItems": ALL, "value_name": "pick", "value_type": "Expression",
                                              "value": 'choices(["x", "y"], [1, 0])'})
    assert {task.data["pick"] for task in tasks_of(db, project_id).values()} == {"x"}

    source = db.scalars(select(Annotation).where(Annotation.task_id == ids[0])).one()
    response = act(actor, project_id, "propagate_annotations", {"selectedItems": {"all": False, "included": ids[:3]},
                                                                "source_annotation_id": source.id})
    assert response.json() == {"detail": "Created 2 annotations"}
    copies = db.scalars(select(Annotation).where(Annotation.parent_annotation_id == source.id)).all()
    assert sorted((a.task_id, a.completed_by_id, a.result == source.result) for a in copies) == [(ids[1], actor.user_id, True), (ids[2], actor.user_id, True)]
    assert tasks_of(db, project_id)[ids[2]].total_annotations == 1

    response = act(actor, project_id, "rename_labels", {"selectedItems": {"all": False, "included": [ids[4]]}, "control_tag": "label",
                                                        "old_label_name": "pos", "new_label_name": "positive"})
    assert response.json() == {"detail": "Updated 4 labels in 4"}, "every annotation of the project, whatever the selection"
    db.expire_all()
    assert sorted(a.result[0]["value"]["choices"][0] for a in db.scalars(select(Annotation))) == ["neg", "positive", "positive", "positive", "positive"]

    before = {task.id: dict(task.data) for task in tasks_of(db, project_id).values()}
    annotations_before = count(db, Annotation)
    refused = {
        "rename: unknown control": ("rename_labels", {"control_tag": "nope", "old_label_name": "pos", "new_label_name": "x"}),
        "add field: unknown type": ("add_data_field", {"value_name": "r", "value_type": "Bogus", "value": "x"}),
        "add field: unknown expression": ("add_data_field", {"value_name": "r", "value_type": "Expression", "value": "what(1)"}),
        "add field: bad range": ("add_data_field", {"value_name": "r", "value_type": "Expression", "value": "range(a)"}),
        "add field: not a number": ("add_data_field", {"value_name": "r", "value_type": "Number", "value": "many"}),
        "propagate: unknown source": ("propagate_annotations", {"source_annotation_id": 999999}),
    }
    for name, (action, body) in refused.items():
        response = act(actor, project_id, action, {"selectedItems": ALL, **body})
        assert response.status_code == 400, (name, response.text)
    response = act(actor, project_id, "rename_labels", {"selectedItems": ALL, "control_tag": "nope", "old_label_name": "pos", "new_label_name": "x"})
    assert response.json()["validation_errors"] == {"non_field_errors": ["Wrong old label name, it is not from labeling config: pos"]}
    assert {task.id: task.data for task in tasks_of(db, project_id).values()} == before
    assert count(db, Annotation) == annotations_before


def test_inclusion_lists_select_as_label_studio(actor, project, db):
    project_id, ids = project
    # Ids that cannot name a task select nothing...
    response = act(actor, project_id, "delete_tasks", {"selectedItems": {"all": False, "included": [0, 2**40]}})
    assert response.json()["processed_items"] == 0 and len(tasks_of(db, project_id)) == 5
    # ...while an empty inclusion list selects every task, as in Label Studio.
    response = act(actor, project_id, "retrieve_tasks_predictions", {"selectedItems": {"all": False, "included": []}})
    assert response.json() == {"processed_items": 5, "detail": "Retrieved 5 predictions"}


def test_actions_cost_the_same_statements_for_10_or_300_tasks(actor, db, statement_counter):
    """Bulk SQL: one statement per table (executemany for row values), whatever the selection size."""
    steps = [
        ("predictions_to_annotations", {}),
        ("cache_labels", {}),
        ("add_data_field", {"value_name": "x", "value_type": "String", "value": "v"}),
        ("remove_duplicates", {}),
        ("delete_tasks_annotations", {}),
        ("delete_tasks_predictions", {}),
        ("delete_tasks", {}),
    ]
    costs = {}
    for size in (10, 300):
        project_id = make_project(actor, f"{size} tasks")
        import_tasks(actor, project_id, [{"data": {"text": f"t{i % 7}"}, "annotations": [{"result": choice("pos")}],
                                          "predictions": [{"model_version": "m", "result": choice("neg")}]} for i in range(size)])
        for action, body in steps:
            with statement_counter() as executed:
                assert act(actor, project_id, action, {"selectedItems": ALL, **body}).status_code == 200
            costs.setdefault(action, []).append(executed())
    task_lock = 1 if db.get_bind().dialect.name == "postgresql" else 0
    for action, (small, large) in costs.items():
        # Was <= 8: + the outbox events (ACTION_PERFORMED and the action's own; remove_duplicates, the
        # costliest, records TASKS_UPDATED and TASKS_DELETED), - the project lookup the selection no longer repeats;
        # on PostgreSQL + the task row lock a recount takes first (core.tasks.counters).
        assert small == large <= 10 + task_lock, (action, small, large)


def test_dm_action_job_resumes_after_a_crash_without_duplicates(app, actor, project, db, monkeypatch):
    from dataclasses import replace

    from core.data_manager.actions import ACTIONS, perform_action
    from core.db.unit_of_work import transaction
    from core.jobs.service import claim_job
    from tests.test_jobs import RecordingQueue, call_service

    project_id, ids = project
    monkeypatch.setattr(dm_jobs, "BATCH_SIZE", 2)
    app.state.settings = app.state.settings.with_(dm_action_job_threshold=1)
    queue = RecordingQueue()
    outcome = call_service(app, actor, lambda ctx: perform_action(ctx, "predictions_to_annotations", project_id, {"selectedItems": ALL}),
                           ports={"jobs": queue})
    assert queue.sent == [("dm_action", outcome.job_id)] and outcome.response["job"] == outcome.job_id

    original = ACTIONS["predictions_to_annotations"]
    batches = []

    def crash_on_second_batch(run, batch):
        batches.append(batch)
        if len(batches) == 2:
            raise RuntimeError("worker died")
        return original.work(run, batch)

    monkeypatch.setitem(ACTIONS, original.id, replace(original, work=crash_on_second_batch))
    session_factory = app.state.session_factory
    with transaction(session_factory) as session:
        assert claim_job(session, outcome.job_id) is not None
    with pytest.raises(RuntimeError):
        dm_jobs.run(session_factory, app.state.settings, outcome.job_id)
    assert db.get(Job, outcome.job_id).progress_done == 2

    monkeypatch.setitem(ACTIONS, original.id, original)
    result = dm_jobs.run(session_factory, app.state.settings, outcome.job_id)
    assert result == {"detail": "Created 3 annotations"}
    assert count(db, Annotation, project_id=project_id) == 6, "3 imported + 3 converted, none twice"
    # A redelivered message after completion does no work again.
    assert dm_jobs.run(session_factory, app.state.settings, outcome.job_id) == {"detail": "Created 3 annotations"}
    assert count(db, Annotation, project_id=project_id) == 6


def test_dialog_forms(actor, stranger, project, db):
    project_id, ids = project

    def form(action_id, **params):
        return actor.client.get(f"/api/dm/actions/{action_id}/form/", params={"project": project_id, **params})

    me = actor.client.get("/api/current-user/whoami").json()
    name = f"{me['first_name']} {me['last_name']}".strip() or me["username"] or me["email"]
    assert form("delete_tasks_annotations").json() == [{"columnCount": 1, "fields": [{
        "type": "select", "name": "annotator", "label": "Annotator", "options": [{"value": str(actor.user_id), "label": name}],
        "placeholder": "All", "searchable": True}]}]
    assert form("predictions_to_annotations").json() == [{"columnCount": 1, "fields": [{
        "type": "select", "name": "model_version", "label": "Choose predictions", "options": ["m2", "m1"], "value": "m2"}]}]
    assert form("cache_labels").json()[0]["fields"][0]["options"] == ["ALL", "label"]
    assert form("rename_labels").json()[0]["fields"][1]["options"] == ["neg", "pos"]
    first = db.scalar(select(func.min(Annotation.id)))
    assert form("propagate_annotations").json()[0]["fields"][0]["label"] == f"Enter source annotation ID [first ID: {first}]"
    assert form("add_data_field").json()[0]["fields"][1]["options"] == ["String", "Number", "Expression"]
    assert form("delete_tasks").json() == []
    assert form("no_such_action").status_code == 404
    assert stranger.client.get("/api/dm/actions/delete_tasks/form/", params={"project": project_id}).status_code == 404


def test_label_studio_sdk_runs_actions(live_server, actor, project, db):
    from label_studio_sdk import LabelStudio

    project_id, ids = project
    ls = LabelStudio(base_url=live_server, api_key=actor.token, timeout=30)
    assert [a.id for a in ls.actions.list(project=project_id)][:2] == ["retrieve_tasks_predictions", "predictions_to_annotations"]
    ls.actions.create(id="predictions_to_annotations", project=project_id, selected_items={"all": False, "included": [ids[2]]})
    assert tasks_of(db, project_id)[ids[2]].total_annotations == 1
    ls.actions.create(
        id="delete_tasks", project=project_id, selected_items={"all": True, "excluded": [ids[0]]},
        filters={"conjunction": "and", "items": [{"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]},
    )
    assert sorted(tasks_of(db, project_id)) == [ids[0], ids[3], ids[4]]
    view = ls.views.create(project=project_id, data={"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:total_predictions", "operator": "greater", "type": "Number", "value": 0}]}})
    ls.actions.create(id="delete_tasks_predictions", project=project_id, view=view.id)
    assert tasks_of(db, project_id)[ids[3]].total_predictions == 0
