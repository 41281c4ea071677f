"""Export snapshots (/api/projects/{id}/exports/...): created, listed, read, converted, downloaded and
deleted as in Label Studio 1.23.2, written by "export" / "export_convert" jobs on the in-process worker."""
from __future__ import annotations

import hashlib
import io
import time
import zipfile

import orjson
import pytest
from sqlalchemy import select

from core.annotations.models import Annotation
from core.exports.models import ConvertedFormat, Export
from core.jobs.models import Job
from core.tasks.models import Task
from tests.openapi_contract import assert_matches_spec
from tests.test_export import SENTIMENT, add_annotation, add_task, create_project, exported_project  # noqa: F401

BBOX_CONFIG = ('<View><Image name="image" value="$image"/>'
               '<RectangleLabels name="label" toName="image"><Label value="Cat"/><Label value="Dog"/></RectangleLabels></View>')


def wait_for_snapshot(actor, project_id: int, export_id: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = actor.client.get(f"/api/projects/{project_id}/exports/{export_id}").json()
        if body["status"] in ("completed", "failed") and all(
            converted["status"] in ("completed", "failed") for converted in body["converted_formats"]
        ):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def create_snapshot(actor, project_id: int, body: dict | None = None) -> dict:
    response = actor.client.post(f"/api/projects/{project_id}/exports/", json=body or {})
    assert response.status_code == 201, response.text
    return wait_for_snapshot(actor, project_id, response.json()["id"])


class _without_options:
    """The create response minus the three always-null option fields, for the spec check of an Export."""

    def __init__(self, response):
        body = response.json()
        self.status_code = 200
        self.content = orjson.dumps({key: value for key, value in body.items() if not key.endswith("_options")})

    def json(self):
        return orjson.loads(self.content)


def snapshot_tasks(actor, project_id: int, export_id: int) -> list[dict]:
    response = actor.client.get(f"/api/projects/{project_id}/exports/{export_id}/download")
    assert response.status_code == 200, response.text
    return response.json()


def test_snapshot_life_cycle(actor, exported_project, db):
    p = exported_project
    response = actor.client.post(f"/api/projects/{p['project']}/exports/", json={"title": "Mine"})
    assert response.status_code == 201
    created = response.json()
    # Label Studio answers the option fields as null (the spec types them as objects); the rest is an Export.
    assert_matches_spec(_without_options(response), "GET", "/api/projects/{id}/exports/{export_pk}")
    assert created["title"] == "Mine" and created["status"] in ("in_progress", "completed")
    assert created["created_by"]["id"] == actor.user_id and created["converted_formats"] == []
    assert (created["task_filter_options"], created["annotation_filter_options"], created["serialization_options"]) == (None, None, None)

    done = wait_for_snapshot(actor, p["project"], created["id"])
    assert done["status"] == "completed" and done["finished_at"] and len(done["md5"]) == 32
    assert done["counters"] == {"task_number": 3}  # no options: every task
    assert db.scalar(select(Job.kind).where(Job.id == db.get(Export, created["id"]).job_id)) == "export"

    listed = actor.client.get(f"/api/projects/{p['project']}/exports/")
    assert_matches_spec(listed, "GET", "/api/projects/{id}/exports/")
    assert [item["id"] for item in listed.json()] == [created["id"]]
    assert "task_filter_options" not in listed.json()[0]
    detail = actor.client.get(f"/api/projects/{p['project']}/exports/{created['id']}")
    assert_matches_spec(detail, "GET", "/api/projects/{id}/exports/{export_pk}")

    download = actor.client.get(f"/api/projects/{p['project']}/exports/{created['id']}/download")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"].startswith(f'attachment; filename="export/{p["project"]}/project-{p["project"]}-at-')
    tasks = download.json()
    assert [task["id"] for task in tasks] == [p["annotated"], p["plain"], p["skipped"]]
    # Snapshots without serialization options keep predictions and drafts as ids.
    assert tasks[0]["predictions"] == [p["prediction"]] and tasks[0]["drafts"] == []
    # Same task JSON as the easy export.
    easy = actor.client.get(f"/api/projects/{p['project']}/export?download_all_tasks=true").json()
    assert tasks == easy

    assert actor.client.delete(f"/api/projects/{p['project']}/exports/{created['id']}").status_code == 204
    assert actor.client.get(f"/api/projects/{p['project']}/exports/{created['id']}").status_code == 404
    assert actor.client.get(f"/api/projects/{p['project']}/exports/").json() == []


def test_convert_and_download_converted(actor, exported_project, settings):
    p = exported_project
    snapshot = create_snapshot(actor, p["project"])
    base = f"/api/projects/{p['project']}/exports/{snapshot['id']}"
    # Not converted yet: Label Studio 1.23.2 (default flags) converts on the fly.
    on_the_fly = actor.client.get(f"{base}/download?exportType=CSV")
    assert on_the_fly.status_code == 200 and on_the_fly.headers["filename"] == snapshot_name(snapshot, p["project"], actor) + ".csv"
    response = actor.client.post(f"{base}/convert", json={"export_type": "CSV"})
    assert response.status_code == 200, response.text
    body = assert_matches_spec(response, "POST", "/api/projects/{id}/exports/{export_pk}/convert")
    assert body["export_type"] == "CSV" and isinstance(body["converted_format"], int)
    again = actor.client.post(f"{base}/convert", json={"export_type": "CSV"})
    assert again.status_code == 400
    assert again.json()["validation_errors"] == {"non_field_errors": ["Conversion to CSV already started"]}

    done = wait_for_snapshot(actor, p["project"], snapshot["id"])
    assert done["converted_formats"] == [{"id": body["converted_format"], "status": "completed", "export_type": "CSV", "traceback": None}]
    csv = actor.client.get(f"{base}/download?exportType=CSV")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("application/csv")
    assert csv.headers["filename"].endswith(".csv") and csv.text == on_the_fly.text
    # The snapshot's CSV is the easy export's CSV of the same tasks.
    assert csv.text == actor.client.get(f"/api/projects/{p['project']}/export?exportType=CSV&download_all_tasks=true").text

    # JSON_MIN converted from the snapshot file equals the easy export's.
    actor.client.post(f"{base}/convert", json={"export_type": "JSON_MIN"})
    wait_for_snapshot(actor, p["project"], snapshot["id"])
    converted = actor.client.get(f"{base}/download?exportType=JSON_MIN").json()
    assert converted == actor.client.get(f"/api/projects/{p['project']}/export?exportType=JSON_MIN&download_all_tasks=true").json()

    # Deleting the snapshot removes its files.
    files = list((settings.data_dir / "export").rglob("*.*"))
    assert files
    assert actor.client.delete(base).status_code == 204
    assert not [path for path in (settings.data_dir / "export").rglob("*") if path.is_file()]


def snapshot_name(snapshot: dict, project_id: int, actor) -> str:
    """The snapshot file's stem ("project-<id>-at-<time>-<md5 prefix>")."""
    response = actor.client.get(f"/api/projects/{project_id}/exports/{snapshot['id']}/download")
    return response.headers["filename"].rsplit(".", 1)[0]


def test_multi_file_conversion_is_a_zip(actor, db, settings):
    project_id = create_project(actor, label_config=BBOX_CONFIG)
    task = add_task(db, project_id, {"image": "http://example.com/cat.jpg"}, inner_id=1)
    add_annotation(db, task, project_id, actor.user_id, [{
        "id": "b1", "from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 200,
        "original_height": 100, "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "rectanglelabels": ["Dog"]}}])
    db.commit()
    snapshot = create_snapshot(actor, project_id)
    base = f"/api/projects/{project_id}/exports/{snapshot['id']}"
    on_the_fly = actor.client.get(f"{base}/download?exportType=VOC")
    assert on_the_fly.status_code == 200 and on_the_fly.headers["content-type"] == "application/zip"
    # The converter names a remote image "<md5 of its URL>__<file name>" (without downloading it).
    xml_name = f"Annotations/{hashlib.md5(b'http://example.com/cat.jpg').hexdigest()[:8]}__cat.xml"
    assert set(zipfile.ZipFile(io.BytesIO(on_the_fly.content)).namelist()) == {"Annotations/", "images/", xml_name}
    assert not [path for path in (settings.data_dir / "export" / "tmp").rglob("*")], "the work folder is deleted"
    bogus = actor.client.get(f"{base}/download?exportType=BOGUS")
    assert bogus.status_code == 400 and bogus.json()["validation_errors"] == {"exportType": ["BOGUS is not supported export format"]}
    for export_type in ("YOLO", "COCO", "VOC"):
        assert actor.client.post(f"{base}/convert", json={"export_type": export_type}).status_code == 200
    done = wait_for_snapshot(actor, project_id, snapshot["id"])
    assert {item["export_type"]: item["status"] for item in done["converted_formats"]} == {"YOLO": "completed", "COCO": "completed", "VOC": "completed"}
    yolo = actor.client.get(f"{base}/download?exportType=YOLO")
    assert yolo.headers["content-type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(yolo.content)).namelist())
    assert {"classes.txt", "notes.json", "images/", "labels/"} <= names
    label_file = next(name for name in names if name.startswith("labels/") and name.endswith(".txt"))
    assert zipfile.ZipFile(io.BytesIO(yolo.content)).read(label_file) == b"1 0.25 0.4 0.3 0.4\n"
    coco = zipfile.ZipFile(io.BytesIO(actor.client.get(f"{base}/download?exportType=COCO").content))
    assert set(coco.namelist()) == {"images/", "result.json"}
    assert orjson.loads(coco.read("result.json"))["annotations"][0]["bbox"] == [20.0, 20.0, 60.0, 40.0]


def test_conversion_with_nothing_to_write_fails_like_label_studio(actor, db):
    config = '<View><Image name="image" value="$image"/><BrushLabels name="b" toName="image"><Label value="A"/></BrushLabels></View>'
    project_id = create_project(actor, label_config=config)
    add_task(db, project_id, {"image": "http://example.com/1.png"}, inner_id=1)
    db.commit()
    snapshot = create_snapshot(actor, project_id)
    base = f"/api/projects/{project_id}/exports/{snapshot['id']}"
    actor.client.post(f"{base}/convert", json={"export_type": "BRUSH_TO_PNG"})
    done = wait_for_snapshot(actor, project_id, snapshot["id"])
    assert done["converted_formats"][0]["status"] == "failed"
    assert "No converted file found" in done["converted_formats"][0]["traceback"]
    assert actor.client.get(f"{base}/download?exportType=BRUSH_TO_PNG").status_code == 404
    # A failed conversion can be asked for again.
    assert actor.client.post(f"{base}/convert", json={"export_type": "BRUSH_TO_PNG"}).status_code == 200


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"task_filter_options": {"only_with_annotations": True}}, ["annotated", "skipped"]),
        ({"task_filter_options": {"skipped": "only"}}, ["skipped"]),
        ({"task_filter_options": {"skipped": "exclude"}}, ["annotated", "plain"]),
        ({"task_filter_options": {"annotated": "only"}}, ["annotated"]),
        ({"task_filter_options": {"annotated": "exclude"}}, ["plain", "skipped"]),
        ({"task_filter_options": {"finished": "only"}}, ["annotated"]),
        ({"task_filter_options": {"finished": "exclude"}}, ["plain", "skipped"]),
    ],
)
def test_task_filter_options(actor, exported_project, db, options, expected):
    p = exported_project
    db.execute(Task.__table__.update().where(Task.id == p["annotated"]).values(is_labeled=True))
    db.commit()
    snapshot = create_snapshot(actor, p["project"], options)
    assert [task["id"] for task in snapshot_tasks(actor, p["project"], snapshot["id"])] == [p[name] for name in expected]
    assert snapshot["counters"] == {"task_number": len(expected)}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, ["first"]),  # usual defaults to true once the options are given ("older" is ground truth)
        ({"usual": False, "skipped": True}, ["skip"]),
        ({"usual": False, "ground_truth": True}, ["older"]),
        ({"usual": True, "skipped": True}, ["first", "skip"]),
    ],
)
def test_annotation_filter_options(actor, exported_project, db, filters, expected):
    p = exported_project
    db.execute(Annotation.__table__.update().where(Annotation.id == p["older"]).values(ground_truth=True))
    db.commit()
    snapshot = create_snapshot(actor, p["project"], {"annotation_filter_options": filters})
    tasks = snapshot_tasks(actor, p["project"], snapshot["id"])
    assert len(tasks) == 3  # annotation filters never drop tasks
    assert sorted(a["id"] for task in tasks for a in task["annotations"]) == sorted(p[name] for name in expected)


def test_serialization_options_expand_predictions_and_annotators(actor, exported_project):
    p = exported_project
    snapshot = create_snapshot(actor, p["project"], {"serialization_options": {
        "predictions": {"only_id": False}, "annotations__completed_by": {"only_id": False},
        "drafts": {"only_id": True}, "include_annotation_history": False, "interpolate_key_frames": False}})
    annotated = snapshot_tasks(actor, p["project"], snapshot["id"])[0]
    prediction = annotated["predictions"][0]
    assert prediction["id"] == p["prediction"] and prediction["result"] == [SENTIMENT]
    assert prediction["score"] == 0.5 and prediction["model_version"] == "m1" and prediction["task"] == p["annotated"]
    # Label Studio's PredictionSerializer keys, in its order.
    assert list(prediction) == ["id", "result", "model_version", "created_ago", "score", "cluster", "neighbors", "mislabeling",
                                "created_at", "updated_at", "model", "model_run", "task", "project"]
    assert annotated["annotations"][0]["completed_by"] == {"id": actor.user_id, "email": actor.email, "first_name": "", "last_name": ""}
    assert annotated["drafts"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"task_filter_options": {"skipped": "sometimes"}}, "task_filter_options"),
        ({"task_filter_options": {"view": "abc"}}, "task_filter_options"),
        ({"annotation_filter_options": {"usual": "maybe"}}, "annotation_filter_options"),
        ({"serialization_options": {"predictions": {"only_id": "x"}}}, "serialization_options"),
        ({"task_filter_options": "all"}, "task_filter_options"),
        ({"title": "x" * 2049}, "title"),
    ],
)
def test_bad_snapshot_options_are_refused_and_nothing_is_written(actor, exported_project, db, body, field):
    response = actor.client.post(f"/api/projects/{exported_project['project']}/exports/", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["validation_errors"]
    assert db.scalar(select(Export.id)) is None


def test_bad_option_errors_are_nested_like_label_studio(actor, exported_project):
    response = actor.client.post(f"/api/projects/{exported_project['project']}/exports/", json={
        "task_filter_options": {"skipped": "sometimes", "view": "abc"}, "annotation_filter_options": {"usual": "maybe"},
        "serialization_options": {"predictions": {"only_id": "x"}, "drafts": 5}})
    assert response.json()["validation_errors"] == {  # Label Studio 1.23.2's answer to the same body
        "task_filter_options": {"view": ["A valid integer is required."], "skipped": ['"sometimes" is not a valid choice.']},
        "annotation_filter_options": {"usual": ["Must be a valid boolean."]},
        "serialization_options": {"drafts": {"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]},
                                  "predictions": {"only_id": ["Must be a valid boolean."]}},
    }
    not_an_object = actor.client.post(f"/api/projects/{exported_project['project']}/exports/", json={"task_filter_options": "all"})
    assert not_an_object.json()["validation_errors"] == {
        "task_filter_options": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}}
    again = actor.client.post(f"/api/projects/{exported_project['project']}/exports/", json={"title": None})
    assert again.json()["validation_errors"] == {"title": ["This field may not be null."]}


def test_bad_conversions(actor, exported_project, db):
    p = exported_project
    snapshot = create_snapshot(actor, p["project"])
    base = f"/api/projects/{p['project']}/exports/{snapshot['id']}"
    missing = actor.client.post(f"{base}/convert", json={})
    assert missing.status_code == 400 and missing.json()["validation_errors"] == {"export_type": ["This field is required."]}
    bogus = actor.client.post(f"{base}/convert", json={"export_type": "BOGUS"})
    assert bogus.json()["validation_errors"] == {"export_type": ["BOGUS is not supported export format"]}
    assert actor.client.post(f"{base}/convert", json={"export_type": "CSV_OLD"}).status_code == 400
    assert db.scalar(select(ConvertedFormat.id)) is None
    assert actor.client.post(f"/api/projects/{p['project']}/exports/999999/convert", json={"export_type": "CSV"}).status_code == 404


def test_snapshots_of_another_organization_are_not_found(actor, stranger, exported_project):
    p = exported_project
    snapshot = create_snapshot(actor, p["project"])
    base = f"/api/projects/{p['project']}/exports"
    assert stranger.client.get(f"{base}/").status_code == 404
    assert stranger.client.post(f"{base}/", json={}).status_code == 404
    assert stranger.client.get(f"{base}/{snapshot['id']}").status_code == 404
    assert stranger.client.get(f"{base}/{snapshot['id']}/download").status_code == 404
    assert stranger.client.post(f"{base}/{snapshot['id']}/convert", json={"export_type": "CSV"}).status_code == 404
    assert stranger.client.delete(f"{base}/{snapshot['id']}").status_code == 404
    assert actor.client.get(f"{base}/{snapshot['id']}").status_code == 200
    # A snapshot id of another project of the same organization is not found either.
    other = create_project(actor)
    assert actor.client.get(f"/api/projects/{other}/exports/{snapshot['id']}").status_code == 404


def test_export_job_runs_once_when_delivered_twice(app, actor, exported_project, db):
    from core.jobs.runner import SKIPPED, execute_job

    p = exported_project
    snapshot = create_snapshot(actor, p["project"])
    job_id = db.get(Export, snapshot["id"]).job_id
    assert execute_job(app.state.session_factory, app.state.settings, "export", job_id) == SKIPPED
    assert wait_for_snapshot(actor, p["project"], snapshot["id"])["md5"] == snapshot["md5"]


def test_view_filter_and_selection_choose_the_tasks(actor, exported_project, db):
    from core.data_manager.models import View

    p = exported_project
    view = View(project_id=p["project"], user_id=actor.user_id, data={"title": "tab"},
                filters={"conjunction": "or", "items": [
                    {"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": p["plain"]},
                    {"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": p["skipped"]}]},
                selected_items={"all": True, "excluded": [p["skipped"]]})
    db.add(view)
    db.commit()
    snapshot = create_snapshot(actor, p["project"], {"task_filter_options": {"view": view.id}})
    assert [task["id"] for task in snapshot_tasks(actor, p["project"], snapshot["id"])] == [p["plain"]]
    # A view Label Studio cannot find is ignored.
    snapshot = create_snapshot(actor, p["project"], {"task_filter_options": {"view": 999999}})
    assert snapshot["counters"] == {"task_number": 3}


def test_a_failing_export_job_marks_the_snapshot_failed(actor, exported_project, db):
    from core.data_manager.models import View

    p = exported_project
    view = View(project_id=p["project"], user_id=actor.user_id, data={},
                filters={"conjunction": "and", "items": [{"filter": "filter:tasks:no_such_column", "operator": "equal",
                                                           "type": "Number", "value": 1}]})
    db.add(view)
    db.commit()
    snapshot = create_snapshot(actor, p["project"], {"task_filter_options": {"view": view.id}})
    assert snapshot["status"] == "failed" and snapshot["finished_at"]
    job = db.get(Job, db.get(Export, snapshot["id"]).job_id)
    assert job.status == "failed" and job.error
    assert actor.client.get(f"/api/projects/{p['project']}/exports/{snapshot['id']}/download").status_code == 404


def test_label_studio_sdk_drives_snapshots(actor, exported_project, live_server):
    """The official client (label-studio-sdk 2.1.2) against the live server: create, poll, convert,
    download in two formats, easy export in a converted format, delete."""
    from label_studio_sdk import LabelStudio

    p = exported_project
    ls = LabelStudio(base_url=live_server, api_key=actor.token)
    created = ls.projects.exports.create(p["project"], title="sdk snapshot",
                                        task_filter_options={"only_with_annotations": True})
    assert created.title == "sdk snapshot"
    deadline = time.monotonic() + 30
    while (snapshot := ls.projects.exports.get(p["project"], created.id)).status != "completed":
        assert time.monotonic() < deadline, snapshot.status
        time.sleep(0.05)
    assert snapshot.counters == {"task_number": 2}
    assert [item.id for item in ls.projects.exports.list(p["project"])] == [created.id]

    tasks = orjson.loads(b"".join(ls.projects.exports.download(p["project"], created.id)))
    assert [task["id"] for task in tasks] == [p["annotated"], p["skipped"]]
    converted = ls.projects.exports.convert(p["project"], created.id, export_type="JSON_MIN")
    assert converted.export_type == "JSON_MIN"
    while ls.projects.exports.get(p["project"], created.id).converted_formats[0].status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    records = orjson.loads(b"".join(ls.projects.exports.download(p["project"], created.id, export_type="JSON_MIN")))
    assert [record["id"] for record in records] == [p["annotated"], p["annotated"]]

    conll = b"".join(ls.projects.exports.download_sync(p["project"], export_type="CONLL2003")).decode()
    assert conll.startswith("-DOCSTART- -X- O\n") and "hello -X- _ B-PER" in conll

    ls.projects.exports.delete(p["project"], created.id)
    assert ls.projects.exports.list(p["project"]) == []
