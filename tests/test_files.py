"""Files tag: GET/PATCH/DELETE /api/import/file-upload/{id}, GET/DELETE /api/projects/{id}/file-uploads,
and serving GET /data/upload/<project_id>/<name>: members of the owning organization only,
active content (HTML, SVG, XML) never rendered from our origin, no path traversal."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.files.models import FileUpload
from core.tasks.models import Task
from tests.openapi_contract import assert_matches_spec

CONFIG = '<View><Image name="image" value="$image"/><Choices name="c" toName="image"><Choice value="a"/></Choices></View>'


def make_project(actor) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Files project", "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload_files(actor, project_id: int, *files: tuple[str, bytes]) -> list[int]:
    response = actor.client.post(f"/api/projects/{project_id}/import?commit_to_project=false",
                                 files=[(f"file{i}", f) for i, f in enumerate(files)])
    assert response.status_code == 201, response.text
    return response.json()["file_upload_ids"]


def stored_name(db, upload_id: int) -> str:
    db.expire_all()
    return db.get(FileUpload, upload_id).file


def test_get_file_upload(actor, stranger, db):
    project_id = make_project(actor)
    [upload_id] = upload_files(actor, project_id, ("cat.png", b"12345"))
    response = actor.client.get(f"/api/import/file-upload/{upload_id}")
    body = assert_matches_spec(response, "GET", "/api/import/file-upload/{id}")
    assert response.status_code == 200
    assert body == {"id": upload_id, "file": stored_name(db, upload_id), "size": 5}
    assert body["file"].startswith(f"upload/{project_id}/") and body["file"].endswith("-cat.png")
    assert stranger.client.get(f"/api/import/file-upload/{upload_id}").status_code == 404
    assert actor.client.get("/api/import/file-upload/999999").status_code == 404


def test_patch_file_upload_replaces_the_file(actor, stranger, db, settings):
    project_id = make_project(actor)
    [upload_id] = upload_files(actor, project_id, ("old.png", b"old"))
    old_name = stored_name(db, upload_id)
    response = actor.client.patch(f"/api/import/file-upload/{upload_id}", files={"file": ("new.png", b"newer")})
    body = assert_matches_spec(response, "PATCH", "/api/import/file-upload/{id}")
    assert response.status_code == 200 and body["size"] == 5 and body["file"].endswith("-new.png")
    assert (settings.data_dir / body["file"]).read_bytes() == b"newer"
    assert not (settings.data_dir / old_name).exists()
    # A JSON "file" is not a file (Label Studio's message); no body changes nothing.
    refused = actor.client.patch(f"/api/import/file-upload/{upload_id}", json={"file": "elsewhere.png"})
    assert refused.status_code == 400
    assert refused.json()["validation_errors"] == {"file": ["The submitted data was not a file. Check the encoding type on the form."]}
    assert actor.client.patch(f"/api/import/file-upload/{upload_id}", json={}).json() == body
    assert stranger.client.patch(f"/api/import/file-upload/{upload_id}", files={"file": ("x.png", b"x")}).status_code == 404
    assert stored_name(db, upload_id) == body["file"]


def test_delete_file_upload(actor, stranger, db, settings):
    project_id = make_project(actor)
    [upload_id] = upload_files(actor, project_id, ("gone.png", b"bytes"))
    path = settings.data_dir / stored_name(db, upload_id)
    assert stranger.client.delete(f"/api/import/file-upload/{upload_id}").status_code == 404
    assert path.exists()
    imported = actor.client.post(f"/api/projects/{project_id}/reimport", json={"file_upload_ids": [upload_id]})
    assert imported.status_code == 201
    assert actor.client.delete(f"/api/import/file-upload/{upload_id}").status_code == 204
    assert not path.exists()
    db.expire_all()
    assert db.scalars(select(Task.file_upload_id).where(Task.project_id == project_id)).all() == [None], "the task stays, unlinked"
    assert actor.client.get(f"/api/import/file-upload/{upload_id}").status_code == 404


def test_list_file_uploads(actor, make_actor, stranger):
    project_id = make_project(actor)
    first, second = upload_files(actor, project_id, ("a.png", b"a"), ("b.png", b"bb"))
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    upload_files(colleague, project_id, ("c.png", b"c"))  # not the caller's: never listed
    response = actor.client.get(f"/api/projects/{project_id}/file-uploads?all=true")
    body = assert_matches_spec(response, "GET", "/api/projects/{id}/file-uploads")
    assert [(u["id"], u["size"]) for u in body] == [(first, 1), (second, 2)]
    # Without all=true only the ids asked for (Label Studio's import dialog).
    assert [u["id"] for u in actor.client.get(f"/api/projects/{project_id}/file-uploads?ids=[{second}]").json()] == [second]
    assert actor.client.get(f"/api/projects/{project_id}/file-uploads").json() == []
    assert actor.client.get(f"/api/projects/{project_id}/file-uploads?ids=nope").status_code == 400
    assert stranger.client.get(f"/api/projects/{project_id}/file-uploads?all=true").status_code == 404


def test_delete_many_file_uploads(actor, stranger, db, settings):
    project_id = make_project(actor)
    first, second, third = upload_files(actor, project_id, ("a.png", b"a"), ("b.png", b"b"), ("c.png", b"c"))
    paths = [settings.data_dir / stored_name(db, i) for i in (first, second, third)]
    assert stranger.client.request("DELETE", f"/api/projects/{project_id}/file-uploads", json={"file_upload_ids": [first]}).status_code == 404
    response = actor.client.request("DELETE", f"/api/projects/{project_id}/file-uploads", json={"file_upload_ids": [first]})
    assert response.status_code == 200 and response.json() == {"deleted": 1}
    assert [p.exists() for p in paths] == [False, True, True]
    bad = actor.client.request("DELETE", f"/api/projects/{project_id}/file-uploads", json={"file_upload_ids": 3})
    assert bad.status_code == 400
    everything = actor.client.request("DELETE", f"/api/projects/{project_id}/file-uploads")
    assert everything.json() == {"deleted": 2} and not any(p.exists() for p in paths)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(FileUpload)) == 0


# ---------------------------------------------------------------- serving


def test_uploaded_file_is_served_to_members_only(actor, make_actor, stranger, client, db):
    project_id = make_project(actor)
    response = actor.client.post(f"/api/projects/{project_id}/import", files={"file": ("photo.jpg", b"\xff\xd8jpeg")})
    assert response.status_code == 201
    db.expire_all()
    url = db.scalar(select(Task.data).where(Task.project_id == project_id))["image"]
    assert url.startswith(f"/data/upload/{project_id}/")
    served = actor.client.get(url)
    assert served.status_code == 200 and served.content == b"\xff\xd8jpeg"
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff" and served.headers["content-security-policy"] == "sandbox"
    assert served.headers["content-disposition"].startswith("inline")
    ranged = actor.client.get(url, headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 206 and ranged.content == b"\xff\xd8"
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    assert colleague.client.get(url).status_code == 200
    assert stranger.client.get(url).status_code == 404
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("name,content_type", [
    ("page.html", "text/html"), ("drawing.svg", "image/svg+xml"), ("feed.xml", "application/xml"),
])
def test_active_content_is_never_rendered_inline(actor, db, name, content_type):
    project_id = make_project(actor)
    [upload_id] = upload_files(actor, project_id, (name, b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"))
    served = actor.client.get("/data/" + stored_name(db, upload_id))
    assert served.status_code == 200
    assert served.headers["content-type"].startswith(content_type)
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["content-security-policy"] == "sandbox"
    assert served.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", [
    "/data/upload/../secret_key",
    "/data/upload/%2e%2e/secret_key",
    "/data/upload/..%2fsecret_key",
    "/data/upload/1/..%2f..%2fsecret_key",
    "/data/upload/1/%2e%2e/%2e%2e/labelgraph.sqlite3",
    "/data/upload/%2fetc%2fpasswd",
    "/data/upload/1/nothing-here.png",
])
def test_path_traversal_is_refused(actor, settings, path):
    (settings.data_dir / "secret_key").write_text("do not serve")
    make_project(actor)
    response = actor.client.get(path)
    assert response.status_code == 404
    assert b"do not serve" not in response.content


def test_a_file_on_disk_without_an_upload_row_is_not_served(actor, settings):
    project_id = make_project(actor)
    planted = settings.data_dir / "upload" / str(project_id) / "planted.png"
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"planted")
    assert actor.client.get(f"/data/upload/{project_id}/planted.png").status_code == 404


def test_an_upload_row_pointing_outside_the_upload_root_is_not_served(actor, db, settings):
    """Even a row written behind the API's back cannot reach outside the root (symlink, '..')."""
    project_id = make_project(actor)
    (settings.data_dir / "secret_key").write_text("do not serve")
    link = settings.data_dir / "upload" / str(project_id) / "link.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(settings.data_dir / "secret_key")
    db.add_all([FileUpload(user_id=actor.user_id, project_id=project_id, file=f"upload/{project_id}/link.png"),
                FileUpload(user_id=actor.user_id, project_id=project_id, file=f"upload/{project_id}/../../secret_key")])
    db.commit()
    for path in (f"/data/upload/{project_id}/link.png", f"/data/upload/{project_id}/%2e%2e/%2e%2e/secret_key"):
        response = actor.client.get(path)
        assert response.status_code == 404 and b"do not serve" not in response.content


def test_files_through_the_label_studio_sdk(actor, live_server, db):
    from label_studio_sdk import LabelStudio

    project_id = make_project(actor)
    first, second = upload_files(actor, project_id, ("a.png", b"aaa"), ("b.png", b"bbbb"))
    sdk = LabelStudio(base_url=live_server, api_key=actor.token, timeout=60)
    assert [(f.id, f.size) for f in sdk.files.list(id=project_id, all_=True)] == [(first, 3), (second, 4)]
    assert [f.id for f in sdk.files.list(id=project_id, ids=[str(second)])] == [second]
    got = sdk.files.get(id=first)
    assert (got.id, got.file, got.size) == (first, stored_name(db, first), 3)
    updated = sdk.files.update(id=first, file=("c.png", b"ccccc"))
    assert updated.size == 5 and updated.file.endswith("-c.png")
    sdk.files.delete(id=second)
    assert [f.id for f in sdk.files.list(id=project_id, all_=True)] == [first]
    sdk.files.delete_many(id=project_id)
    assert sdk.files.list(id=project_id, all_=True) == []
