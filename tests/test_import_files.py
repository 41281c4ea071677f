"""POST /api/projects/{id}/import with files (multipart) and url=, answered in the request
(small files), and POST /api/projects/{id}/reimport: every format becomes the right tasks,
malformed input is a clear 400 that writes nothing, url imports follow the outgoing-URL policy."""
from __future__ import annotations

import gzip
import json

import pytest
from sqlalchemy import func, select

from core.annotations.models import Annotation
from core.files.models import FileUpload
from core.predictions.models import Prediction
from core.tasks.models import ProjectImport, Task
from tests.file_server import serve
from tests.openapi_contract import response_schema, schema_errors

TEXT_CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
IMAGE_CONFIG = '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'
TWO_OBJECTS_CONFIG = '<View><Text name="text" value="$text"/><Image name="image" value="$image"/></View>'
POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
ANSWER_KEYS = ["task_count", "annotation_count", "prediction_count", "duration", "file_upload_ids",
               "could_be_tasks_list", "found_formats", "data_columns"]
ALLOWED_HOST = "127.0.0.1"  # the test server that the configuration allows
REFUSED_HOST = "127.0.0.2"  # loopback too, not allowed


@pytest.fixture
def settings(settings):
    return settings.with_(allowed_url_hosts=(ALLOWED_HOST,))


def make_project(actor, config: str = TEXT_CONFIG) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Files project", "label_config": config})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(actor, project_id: int, *files: tuple[str, bytes], query: str = ""):
    return actor.client.post(f"/api/projects/{project_id}/import{query}",
                             files=[("file" if i == 0 else f"file{i}", f) for i, f in enumerate(files)])


def tasks_of(db, project_id: int) -> list[Task]:
    db.expire_all()
    return list(db.scalars(select(Task).where(Task.project_id == project_id).order_by(Task.id)))


def count(db, model, *conditions) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*conditions))


def stored_files(settings, project_id: int) -> list[str]:
    directory = settings.data_dir / "upload" / str(project_id)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def assert_answer(response, task_count: int) -> dict:
    """201 with Label Studio Community's answer. Where the spec and Label Studio disagree, Label
    Studio wins: prediction_count/task_ids keys, null counts without commit (as in test_import),
    and found_formats, an object {".csv": 1} in Label Studio's file imports, an array in the spec."""
    assert response.status_code == 201, response.text
    body = response.json()
    schema = response_schema("POST", "/api/projects/{id}/import", 201)
    errors = [e for e in schema_errors(body, schema) if "undeclared key 'prediction_count'" not in e
              and "undeclared key 'task_ids'" not in e and not (e.endswith("got NoneType") and "_count" in e)
              and e != "$.found_formats: expected ['array'], got dict"]
    assert not errors, errors
    assert list(body)[:len(ANSWER_KEYS)] == ANSWER_KEYS
    assert body["task_count"] == task_count and isinstance(body["duration"], float)
    return body


def assert_refused(response, db, settings, project_id: int, *fragments: str) -> None:
    """A 400 in Label Studio's error shape whose message names the problem; nothing written."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and body["detail"]
    text = json.dumps(body["validation_errors"])
    for fragment in fragments:
        assert fragment in text, text
    assert count(db, Task, Task.project_id == project_id) == 0
    assert count(db, FileUpload, FileUpload.project_id == project_id) == 0
    assert stored_files(settings, project_id) == []


# ---------------------------------------------------------------- formats


def test_csv_upload_makes_typed_tasks_and_a_file_upload(actor, db, settings):
    project_id = make_project(actor)
    csv_body = b"text,score,ratio,note\nhello,1,0.5,a\n\"quoted, comma\",2,,\"multi\nline\"\n"
    body = assert_answer(upload(actor, project_id, ("reviews.csv", csv_body)), 2)
    assert (body["annotation_count"], body["prediction_count"], body["could_be_tasks_list"]) == (0, 0, True)
    assert body["found_formats"] == {".csv": 1} and body["data_columns"] == ["text", "score", "ratio", "note"]
    [upload_row] = db.scalars(select(FileUpload).where(FileUpload.project_id == project_id)).all()
    assert body["file_upload_ids"] == [upload_row.id] and upload_row.user_id == actor.user_id
    assert upload_row.file.startswith(f"upload/{project_id}/") and upload_row.file.endswith("-reviews.csv")
    assert (settings.data_dir / upload_row.file).read_bytes() == csv_body
    first, second = tasks_of(db, project_id)
    # pandas' types, as Label Studio: int column, float column with an empty cell, strings.
    assert first.data == {"text": "hello", "score": 1, "ratio": 0.5, "note": "a"}
    assert second.data == {"text": "quoted, comma", "score": 2, "ratio": "", "note": "multi\nline"}
    assert first.file_upload_id == upload_row.id and [first.inner_id, second.inner_id] == [1, 2]
    project_import = db.get(ProjectImport, first.import_id)
    assert (project_import.status, project_import.task_count, project_import.job_id) == ("completed", 2, None)


def test_semicolon_csv_tsv_and_txt(actor, db):
    project_id = make_project(actor)
    assert_answer(upload(actor, project_id, ("semi.csv", b"text;score\na;1\nb;2\n")), 2)
    assert_answer(upload(actor, project_id, ("tabs.tsv", b"text\tscore\nc\t3\n")), 1)
    body = assert_answer(upload(actor, project_id, ("lines.txt", b"first line\nsecond, with comma\n")), 2)
    assert body["data_columns"] == ["$undefined$"]
    assert [t.data for t in tasks_of(db, project_id)] == [
        {"text": "a", "score": 1}, {"text": "b", "score": 2}, {"text": "c", "score": 3},
        {"text": "first line"}, {"text": "second, with comma"},
    ]


def test_json_file_with_annotations_and_predictions(actor, make_actor, db):
    project_id = make_project(actor)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    items = [
        {"data": {"text": "annotated"}, "annotations": [{"result": POSITIVE, "completed_by": {"email": colleague.email}}],
         "predictions": [{"result": POSITIVE, "score": 0.9, "model_version": "v7"}]},
        {"text": "flat item"},
    ]
    body = assert_answer(upload(actor, project_id, ("tasks.json", json.dumps(items).encode()), query="?return_task_ids=true"), 2)
    assert (body["annotation_count"], body["prediction_count"], body["could_be_tasks_list"]) == (1, 1, False)
    annotated, flat = tasks_of(db, project_id)
    assert body["task_ids"] == [annotated.id, flat.id]
    assert (annotated.total_annotations, annotated.total_predictions, annotated.is_labeled) == (1, 1, True)
    assert db.scalar(select(Annotation.completed_by_id).where(Annotation.task_id == annotated.id)) == colleague.user_id
    assert db.scalar(select(Prediction.model_version).where(Prediction.task_id == annotated.id)) == "v7"
    assert flat.data == {"text": "flat item"}


def test_json_single_object_and_jsonl(actor, db):
    project_id = make_project(actor)
    assert_answer(upload(actor, project_id, ("one.json", b'{"data": {"text": "one"}, "meta": {"m": 1}}')), 1)
    assert_answer(upload(actor, project_id, ("many.jsonl", b'{"text": "l1"}\n\n{"data": {"text": "l2"}}\n')), 2)
    tasks = tasks_of(db, project_id)
    assert [t.data for t in tasks] == [{"text": "one"}, {"text": "l1"}, {"text": "l2"}] and tasks[0].meta == {"m": 1}


def test_several_files_in_one_request(actor, db):
    project_id = make_project(actor)
    body = assert_answer(upload(actor, project_id, ("a.csv", b"text\nfrom csv\n"), ("b.json", b'[{"text": "from json"}]')), 2)
    assert body["found_formats"] == {".csv": 1, ".json": 1} and len(body["file_upload_ids"]) == 2
    assert sorted(t.data["text"] for t in tasks_of(db, project_id)) == ["from csv", "from json"]


def test_preannotated_from_fields_on_csv(actor, db):
    project_id = make_project(actor)
    body = assert_answer(upload(actor, project_id, ("pre.csv", b"text,sentiment\ngood,pos\n"), query="?preannotated_from_fields=sentiment"), 1)
    assert body["prediction_count"] == 1
    [task] = tasks_of(db, project_id)
    result = db.scalar(select(Prediction.result).where(Prediction.task_id == task.id))
    assert result == [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]


@pytest.mark.parametrize("name,content_type", [("photo.png", "image/png"), ("clip.mp3", "audio/mpeg"), ("doc.pdf", "application/pdf")])
def test_media_file_becomes_a_task_referencing_the_upload(actor, db, name, content_type):
    project_id = make_project(actor, IMAGE_CONFIG)
    content = b"\x89PNG\r\n\x1a\n-binary-"
    body = assert_answer(upload(actor, project_id, (name, content)), 1)
    assert body["data_columns"] == ["$undefined$"] and body["could_be_tasks_list"] is False
    [task] = tasks_of(db, project_id)
    stored = db.get(FileUpload, body["file_upload_ids"][0]).file
    assert task.data == {"image": f"/data/{stored}"} and stored.startswith(f"upload/{project_id}/")
    served = actor.client.get(task.data["image"])
    assert served.status_code == 200 and served.content == content
    assert served.headers["content-type"].startswith(content_type)


def test_html_file_becomes_a_task_with_its_body(actor, db):
    project_id = make_project(actor, '<View><HyperText name="page" value="$html"/></View>')
    assert_answer(upload(actor, project_id, ("page.html", b"<p>Hello</p>")), 1)
    assert tasks_of(db, project_id)[0].data == {"html": "<p>Hello</p>"}


def test_upload_without_commit_then_reimport(actor, db, settings):
    project_id = make_project(actor, IMAGE_CONFIG)
    body = upload(actor, project_id, ("a.png", b"png-a"), ("b.png", b"png-b"), query="?commit_to_project=false").json()
    assert (body["task_count"], body["annotation_count"], body["prediction_count"]) == (2, None, None)
    assert tasks_of(db, project_id) == []
    ids = body["file_upload_ids"]
    response = actor.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": ids, "files_as_tasks_list": False})
    assert response.status_code == 201, response.text
    again = response.json()
    assert again["task_count"] == 2 and again["file_upload_ids"] == ids and "could_be_tasks_list" not in again
    first_import = {t.import_id for t in tasks_of(db, project_id)}
    # Re-importing the same uploads replaces their tasks instead of adding more.
    assert actor.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": ids}).status_code == 201
    second = tasks_of(db, project_id)
    assert len(second) == 2 and len({t.import_id for t in second}) == 1 and not first_import & {t.import_id for t in second}
    assert {t.file_upload_id for t in second} == set(ids)


def test_reimport_without_ids_and_with_foreign_ids(actor, stranger, db):
    project_id = make_project(actor)
    empty = actor.client.post(f"/api/projects/{project_id}/reimport", json={})
    assert empty.status_code == 200 and empty.json()["task_count"] == 0
    other = make_project(stranger)
    foreign = upload(stranger, other, ("x.csv", b"text\nx\n"), query="?commit_to_project=false").json()["file_upload_ids"]
    refused = actor.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": foreign})
    assert refused.status_code == 400 and count(db, Task, Task.project_id == project_id) == 0
    assert stranger.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": foreign}).status_code == 404


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize("name,content,fragments", [
    ("quotes.csv", b'text,score\n"unclosed,1\n', ["quotes.csv", "line 3", "malformed CSV"]),
    ("wide.csv", b"text,score\na,1\nb,2,3\n", ["wide.csv", "line 3", "expected 2 fields, saw 3"]),
    ("truncated.json", b'[{"text": "a"}, {"text": "b"', ["truncated.json", "item 2", "invalid JSON"]),
    ("garbage.json", b"not json at all", ["garbage.json", "root must be an object or an array"]),
    ("latin1.csv", "text\ncaf\xe9\n".encode("latin-1"), ["latin1.csv", "not valid UTF-8"]),
    ("empty.csv", b"", ["empty.csv", "the file is empty"]),
    ("empty.json", b"", ["empty.json", "the file is empty"]),
    ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', ["bad.jsonl", "line 2", "invalid JSON"]),
    ("missing.jsonl", b'{"text": "ok"}\n{"text": "ok", "title": "no"}\n{"title": "no text"}\n', ["missing.jsonl", "line 3", '\\"text\\" key is expected in task data']),
    ("other.csv", b"title\nno text column\n", ["inconsistent data", "other.csv"]),
    ("archive.zip", b"PK\x03\x04", [".zip extension is not supported"]),
    ("bomb.gz", gzip.compress(b"\0" * 1_000_000), [".gz extension is not supported"]),
])
def test_malformed_files_are_refused_and_nothing_is_written(actor, db, settings, name, content, fragments):
    project_id = make_project(actor)
    assert_refused(upload(actor, project_id, ("good.csv", b"text\nfine\n"), (name, content)), db, settings, project_id, *fragments)


def test_errors_name_every_bad_row(actor, db, settings):
    project_id = make_project(actor)
    items = [{"text": "ok"}, {"other": 1}, {"data": {"text": 5.5, "x": 1}, "annotations": "nope"}, {"data": {"text": "x"}, "annotations": [{"result": POSITIVE, "completed_by": {"email": "nobody@example.com"}}]}]
    response = upload(actor, project_id, ("rows.json", json.dumps(items).encode()))
    assert_refused(response, db, settings, project_id, "rows.json, item 2", "rows.json, item 3", "Task[annotations] must be list",
                   "rows.json, item 4", "Unknown annotator's email nobody@example.com")


def test_media_upload_needs_a_single_object_config(actor, db, settings):
    project_id = make_project(actor, TWO_OBJECTS_CONFIG)
    assert_refused(upload(actor, project_id, ("a.png", b"png")), db, settings, project_id, "more than one data key")


def test_request_size_limit(actor, db, settings):
    project_id = make_project(actor)
    big = b"text\n" + b"x" * (settings.max_body_bytes + 10) + b"\n"
    response = upload(actor, project_id, ("big.csv", big))
    assert response.status_code == 413 and response.json()["status_code"] == 413
    assert count(db, FileUpload, FileUpload.project_id == project_id) == 0
    incoming = settings.data_dir / "upload" / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


def test_import_of_another_organizations_project_is_not_found(actor, stranger, db):
    project_id = make_project(actor)
    response = upload(stranger, project_id, ("a.csv", b"text\nx\n"))
    assert response.status_code == 404
    assert count(db, FileUpload) == 0


# ---------------------------------------------------------------- url imports


def post_url(actor, project_id: int, url: str):
    return actor.client.post(f"/api/projects/{project_id}/import", data={"url": url})


def test_url_import_from_an_allowed_loopback_server(actor, db):
    project_id = make_project(actor)
    routes = {
        "/tasks.csv": (200, {"Content-Type": "text/csv"}, b"text\nfrom the web\nsecond\n"),
        "/moved": (302, {"Location": "/tasks.csv"}, b""),
        "/export": (200, {"Content-Type": "application/json"}, b'[{"text": "typed by content type"}]'),
    }
    with serve(routes, ALLOWED_HOST) as base:
        body = assert_answer(post_url(actor, project_id, f"{base}/moved"), 2)
        assert body["found_formats"] == {".csv": 1}
        assert_answer(post_url(actor, project_id, f"{base}/export"), 1)
    texts = [t.data["text"] for t in tasks_of(db, project_id)]
    assert texts == ["from the web", "second", "typed by content type"]
    project_import = db.scalar(select(ProjectImport).where(ProjectImport.project_id == project_id).order_by(ProjectImport.id))
    assert project_import.url == f"{base}/moved"


def test_url_import_of_tasks_written_in_the_url_field(actor, db):
    project_id = make_project(actor)
    assert_answer(post_url(actor, project_id, '[{"text": "inline"}]'), 1)
    assert tasks_of(db, project_id)[0].data == {"text": "inline"}


@pytest.mark.parametrize("url,fragment", [
    (f"http://{REFUSED_HOST}:{{port}}/tasks.csv", "non-public address"),
    ("http://169.254.169.254/latest/meta-data/", "non-public address"),
    ("http://[::1]:{port}/tasks.csv", "non-public address"),
    ("file:///etc/passwd", "Only http and https"),
    ("ftp://example.com/tasks.csv", "Only http and https"),
])
def test_url_import_refuses_addresses_the_policy_does_not_allow(actor, db, settings, url, fragment):
    project_id = make_project(actor)
    with serve({"/tasks.csv": (200, {}, b"text\nsecret\n")}, REFUSED_HOST) as base:
        port = base.rsplit(":", 1)[1]
        assert_refused(post_url(actor, project_id, url.format(port=port)), db, settings, project_id, fragment)


def test_url_import_refuses_a_redirect_to_a_private_address(actor, db, settings):
    project_id = make_project(actor)
    with serve({"/tasks.csv": (200, {}, b"text\nsecret\n")}, REFUSED_HOST) as hidden:
        with serve({"/go": (302, {"Location": f"{hidden}/tasks.csv"}, b"")}, ALLOWED_HOST) as base:
            assert_refused(post_url(actor, project_id, f"{base}/go"), db, settings, project_id, "non-public address")


def test_url_import_limits_size_after_decompression(actor, db, settings):
    project_id = make_project(actor)
    bomb = gzip.compress(b"text\n" + b"a" * (settings.max_body_bytes + 1))
    routes = {
        "/bomb.csv": (200, {"Content-Encoding": "gzip"}, bomb),
        "/huge.csv": (200, {"Content-Length": str(settings.max_body_bytes + 1)}, b""),
        "/missing.csv": (404, {}, b""),
    }
    with serve(routes, ALLOWED_HOST) as base:
        assert_refused(post_url(actor, project_id, f"{base}/bomb.csv"), db, settings, project_id, "larger than")
        assert_refused(post_url(actor, project_id, f"{base}/huge.csv"), db, settings, project_id, "larger than")
        assert_refused(post_url(actor, project_id, f"{base}/missing.csv"), db, settings, project_id, "HTTP 404")
    assert_refused(post_url(actor, project_id, ""), db, settings, project_id, "is not found in request data")


def test_anonymous_uploads_are_refused_before_anything_is_stored(actor, client, db, settings):
    project_id = make_project(actor)
    response = client.post(f"/api/projects/{project_id}/import", files={"file": ("a.csv", b"text\nx\n")})
    assert response.status_code == 401 and response.json()["status_code"] == 401
    bad_token = client.post(f"/api/projects/{project_id}/import", files={"file": ("a.csv", b"text\nx\n")},
                            headers={"Authorization": "Token nope"})
    assert bad_token.status_code == 401
    assert count(db, FileUpload) == 0
    incoming = settings.data_dir / "upload" / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []


@pytest.mark.parametrize("content_type,body", [
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\ntext\nx\n"),
    ("multipart/form-data", b"no boundary at all"),
    ("multipart/form-data; boundary=xyz", b"garbage without any boundary"),
])
def test_malformed_multipart_bodies_are_refused(actor, db, settings, content_type, body):
    project_id = make_project(actor)
    response = actor.client.post(f"/api/projects/{project_id}/import", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["status_code"] == 400
    assert count(db, FileUpload) == 0
    incoming = settings.data_dir / "upload" / ".incoming"
    assert not incoming.exists() or list(incoming.iterdir()) == []
