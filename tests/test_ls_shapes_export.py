"""Export and import shapes as Label Studio 1.23.2 writes them (checked against a running 1.23.2):
annotations' result_count, the task's file_upload, task data kept whole (meta_info), snapshot
counters, and CSV/TSV data_columns in the file's order."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import core.exports.json_export as json_export
from core.files.models import FileUpload
from core.tasks.models import ProjectImport, Task
from tests.test_graphql import global_id
from tests.test_export_snapshots import create_snapshot, snapshot_tasks, wait_for_snapshot
from tests.test_import_jobs import start_import, wait_for_import

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>'
    '<Labels name="spans" toName="text"><Label value="PER"/></Labels></View>'
)
POS = {"id": "a", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}
SPAN = {"id": "b", "from_name": "spans", "to_name": "text", "type": "labels",
        "value": {"start": 0, "end": 2, "labels": ["PER"]}}
# One region may hold several results (same id); results without an id count as one more region.
SPAN_AGAIN = {**SPAN, "value": {"start": 3, "end": 4, "labels": ["PER"]}}
NEG_WITHOUT_ID = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}
META_INFO = {"timestamp": "2020-03-09 18:15:28.212882", "location": "North Pole"}


def make_project(actor, title: str = "Shapes") -> int:
    response = actor.client.post("/api/projects/", json={"title": title, "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def import_json(actor, project_id: int, tasks: list) -> dict:
    response = actor.client.post(f"/api/projects/{project_id}/import", json=tasks)
    assert response.status_code == 201, response.text
    return response.json()


def upload(actor, project_id: int, name: str, content: bytes) -> dict:
    response = actor.client.post(f"/api/projects/{project_id}/import", files={"file": (name, content)})
    assert response.status_code == 201, response.text
    return response.json()


def export(actor, project_id: int, export_type: str = "JSON") -> list[dict]:
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType={export_type}&download_all_tasks=true")
    assert response.status_code == 200, response.text
    return response.json()


def task_ids(db, project_id: int) -> list[int]:
    db.expire_all()
    return list(db.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)))


# ---------------------------------------------------------------- result_count


def test_result_count_is_the_number_of_regions(actor, db):
    project_id = make_project(actor)
    import_json(actor, project_id, [{"text": "hello world"}, {"text": "plain"}])
    first, second = task_ids(db, project_id)
    created = actor.client.post(f"/api/tasks/{first}/annotations/", json={"result": [POS, SPAN, SPAN_AGAIN, NEG_WITHOUT_ID]})
    assert created.status_code == 201, created.text
    empty = actor.client.post(f"/api/tasks/{second}/annotations/", json={"result": []})
    assert empty.status_code == 201, empty.text
    # The REST answer leaves result_count out, as Label Studio's AnnotationSerializer does.
    assert "result_count" not in created.json()

    counts = {a["id"]: a["result_count"] for task in export(actor, project_id) for a in task["annotations"]}
    assert counts == {created.json()["id"]: 3, empty.json()["id"]: 0}

    patched = actor.client.patch(f"/api/annotations/{created.json()['id']}/", json={"result": [SPAN, SPAN_AGAIN]})
    assert patched.status_code == 200, patched.text
    [task] = [t for t in export(actor, project_id) if t["id"] == first]
    assert task["annotations"][0]["result_count"] == 1


def test_result_count_of_imported_annotations_and_snapshots(actor, db):
    project_id = make_project(actor)
    import_json(actor, project_id, [{"data": {"text": "hello"}, "annotations": [{"result": [POS, SPAN, SPAN_AGAIN]}]}])
    [task] = export(actor, project_id)
    assert task["annotations"][0]["result_count"] == 2
    snapshot = create_snapshot(actor, project_id)
    [task] = snapshot_tasks(actor, project_id, snapshot["id"])
    assert task["annotations"][0]["result_count"] == 2


# ---------------------------------------------------------------- file_upload


def test_file_upload_names_the_stored_file_of_uploaded_tasks(actor, db):
    project_id = make_project(actor)
    import_json(actor, project_id, [{"text": "from the request body"}])
    upload(actor, project_id, "reviews.csv", b"text\nfirst\nsecond\n")
    upload(actor, project_id, "tasks.json", json.dumps([{"text": "from a json file"}]).encode())
    db.expire_all()
    csv_name, json_name = (row.rsplit("/", 1)[-1] for row in db.scalars(
        select(FileUpload.file).where(FileUpload.project_id == project_id).order_by(FileUpload.id)))
    assert csv_name.endswith("-reviews.csv") and len(csv_name) == len("12345678-reviews.csv")

    tasks = export(actor, project_id)
    assert [task.get("file_upload", "absent") for task in tasks] == ["absent", csv_name, csv_name, json_name]
    # Label Studio places it right after the annotations; tasks without a file leave it out.
    assert list(tasks[1])[:4] == ["id", "annotations", "file_upload", "drafts"]
    assert list(tasks[0])[:3] == ["id", "annotations", "drafts"]

    snapshot = create_snapshot(actor, project_id)
    assert [task.get("file_upload", "absent") for task in snapshot_tasks(actor, project_id, snapshot["id"])] == \
        ["absent", csv_name, csv_name, json_name]


def test_file_upload_with_a_few_tasks_per_batch(actor, db, monkeypatch):
    monkeypatch.setattr(json_export, "BATCH_SIZE", 2)
    project_id = make_project(actor)
    upload(actor, project_id, "one.csv", b"text\na\nb\nc\n")
    import_json(actor, project_id, [{"text": "plain"}])
    upload(actor, project_id, "two.csv", b"text\nd\n")
    names = [task.get("file_upload", "").split("-", 1)[-1] for task in export(actor, project_id)]
    assert names == ["one.csv", "one.csv", "one.csv", "", "two.csv"]


# ---------------------------------------------------------------- task data kept whole


def test_meta_info_in_task_data_round_trips(actor, make_actor, db):
    project_id = make_project(actor)
    item = {"data": {"text": "Opossums are great", "ref_id": 456, "meta_info": META_INFO},
            "annotations": [{"result": [POS]}]}
    import_json(actor, project_id, [item, {"text": "flat", "meta_info": META_INFO}])
    db.expire_all()
    assert [t.data for t in db.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id))] == [
        item["data"], {"text": "flat", "meta_info": META_INFO}]
    exported = export(actor, project_id)
    assert [task["data"] for task in exported] == [item["data"], {"text": "flat", "meta_info": META_INFO}]

    response = actor.client.get(f"/api/tasks/{exported[0]['id']}")
    assert response.status_code == 200 and response.json()["data"]["meta_info"] == META_INFO

    # The export imports back as it is, meta_info included.
    copy_id = make_project(actor, "Copy")
    import_json(actor, copy_id, exported)
    assert [task["data"] for task in export(actor, copy_id)] == [item["data"], {"text": "flat", "meta_info": META_INFO}]

    snapshot = create_snapshot(actor, project_id)
    assert [task["data"] for task in snapshot_tasks(actor, project_id, snapshot["id"])] == [
        item["data"], {"text": "flat", "meta_info": META_INFO}]

    json_file = upload(actor, copy_id, "with_meta.json", json.dumps([item]).encode())
    assert json_file["task_count"] == 1
    assert export(actor, copy_id)[-1]["data"] == item["data"]


# ---------------------------------------------------------------- snapshot counters


def test_snapshot_counters_of_an_empty_project(actor):
    project_id = make_project(actor)
    response = actor.client.post(f"/api/projects/{project_id}/exports/", json={})
    assert response.status_code == 201, response.text
    assert response.json()["counters"] == {"task_number": 0}
    done = wait_for_snapshot(actor, project_id, response.json()["id"])
    assert done["status"] == "completed" and done["counters"] == {"task_number": 0}
    assert snapshot_tasks(actor, project_id, done["id"]) == []


@pytest.mark.parametrize("batch_size", [2000, 2])
def test_snapshot_counters_count_the_exported_tasks(actor, monkeypatch, batch_size):
    monkeypatch.setattr(json_export, "BATCH_SIZE", batch_size)
    project_id = make_project(actor)
    import_json(actor, project_id, [{"text": f"task {i}"} for i in range(5)])
    response = actor.client.post(f"/api/projects/{project_id}/exports/", json={})
    assert response.status_code == 201, response.text
    assert response.json()["counters"]["task_number"] in (0, 5)  # 0 while the job has not run yet
    done = wait_for_snapshot(actor, project_id, response.json()["id"])
    assert done["counters"] == {"task_number": 5}
    assert len(snapshot_tasks(actor, project_id, done["id"])) == 5
    one = create_snapshot(actor, project_id, {"task_filter_options": {"annotated": "only"}})
    assert one["counters"] == {"task_number": 0}


def test_graphql_snapshot_counters_at_creation(actor):
    project_id = make_project(actor)
    response = actor.client.post("/graphql", json={"query": """
        mutation($project: ID!) { createExportSnapshot(projectId: $project) {
          __typename ... on ExportSnapshotPayload { snapshot { counters } } } }""", "variables": {"project": global_id("Project", project_id)}})
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["createExportSnapshot"]
    assert payload["__typename"] == "ExportSnapshotPayload", payload
    assert payload["snapshot"]["counters"]["task_number"] == 0


# ---------------------------------------------------------------- data_columns


@pytest.mark.parametrize("name, content", [
    ("reviews.csv", b"text,zeta,alpha,mid\nhi,1,2,3\nho,4,5,6\n"),
    ("reviews.tsv", b"text\tzeta\talpha\tmid\nhi\t1\t2\t3\n"),
])
def test_table_data_columns_keep_the_files_order(actor, db, name, content):
    project_id = make_project(actor)
    body = upload(actor, project_id, name, content)
    assert body["data_columns"] == ["text", "zeta", "alpha", "mid"]
    db.expire_all()
    [row] = db.scalars(select(ProjectImport).where(ProjectImport.project_id == project_id)).all()
    assert row.data_columns == ["text", "zeta", "alpha", "mid"]


def test_data_columns_of_several_files_keep_the_first_files_order(actor):
    project_id = make_project(actor)
    response = actor.client.post(f"/api/projects/{project_id}/import", files=[
        ("file", ("a.csv", b"text,zeta,alpha,mid\nhi,1,2,3\n")),
        ("file1", ("b.csv", b"mid,alpha,text\n1,2,x\n")),
    ])
    assert response.status_code == 201, response.text
    assert response.json()["data_columns"] == ["text", "alpha", "mid"]


@pytest.fixture
def settings(settings, request):
    if "_import_job" in request.node.name:
        return settings.with_(import_sync_max_bytes=64)  # bigger files import as a job
    return settings


def test_table_data_columns_of_an_import_job(actor):
    project_id = make_project(actor)
    content = b"text,zeta,alpha,mid\n" + b"".join(b"row %d,1,2,3\n" % i for i in range(20))
    import_id = start_import(actor.client, project_id, "big.csv", content)
    body = wait_for_import(actor.client, project_id, import_id)
    assert body["status"] == "completed" and body["data_columns"] == ["text", "zeta", "alpha", "mid"]
