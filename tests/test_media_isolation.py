"""Exports copy uploaded media (/data/upload/<project>/<file>) only from the exporting organization's
projects: a task of organization B that names organization A's upload keeps the URL, and B's archive
holds none of A's bytes. The same reference inside A's organization is still copied."""
from __future__ import annotations

import io
import zipfile

import orjson
import pytest
from PIL import Image

from tests.test_export_formats import BBOX, rectangle
from tests.test_export_snapshots import create_snapshot, wait_for_snapshot


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (37, 23), color).save(out, format="PNG")
    return out.getvalue()


def new_project(actor) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Media isolation", "label_config": BBOX})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload_image(actor, project_id: int, content: bytes) -> str:
    """Imports one image file as a task; returns the URL the task got (/data/upload/<project>/<name>)."""
    response = actor.client.post(f"/api/projects/{project_id}/import", files={"file": ("secret.png", content)})
    assert response.status_code == 201, response.text
    [task] = actor.client.get(f"/api/tasks/?project={project_id}").json()["tasks"]
    url = task["data"]["image"]
    assert url.startswith(f"/data/upload/{project_id}/")
    return url


def annotated_task(actor, project_id: int, image_url: str) -> None:
    response = actor.client.post(f"/api/projects/{project_id}/import", json=[{"image": image_url}])
    assert response.status_code == 201, response.text
    tasks = actor.client.get(f"/api/tasks/?project={project_id}").json()["tasks"]
    task_id = next(task["id"] for task in tasks if task["data"]["image"] == image_url)
    response = actor.client.post(f"/api/tasks/{task_id}/annotations/", json={"result": [rectangle(10, 10, 50, 50, "Cat")]})
    assert response.status_code == 201, response.text


def archive_files(response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def easy_export(actor, project_id: int, export_type: str) -> dict[str, bytes]:
    return archive_files(actor.client.get(f"/api/projects/{project_id}/export?exportType={export_type}"))


def snapshot_download(actor, project_id: int, export_type: str) -> dict[str, bytes]:
    """A snapshot converted on the fly by the download."""
    export_id = create_snapshot(actor, project_id)["id"]
    return archive_files(actor.client.get(f"/api/projects/{project_id}/exports/{export_id}/download?exportType={export_type}"))


def snapshot_conversion(actor, project_id: int, export_type: str) -> dict[str, bytes]:
    """A snapshot converted by a conversion job, then downloaded."""
    base = f"/api/projects/{project_id}/exports/{create_snapshot(actor, project_id)['id']}"
    assert actor.client.post(f"{base}/convert", json={"export_type": export_type}).status_code == 200
    [converted] = wait_for_snapshot(actor, project_id, int(base.rsplit("/", 1)[-1]))["converted_formats"]
    assert converted["status"] == "completed", converted
    return archive_files(actor.client.get(f"{base}/download?exportType={export_type}"))


EXPORTS = [easy_export, snapshot_download, snapshot_conversion]


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("export_type", ["COCO_WITH_IMAGES", "YOLO_WITH_IMAGES"])
def test_another_organizations_upload_is_not_copied_into_an_export(actor, stranger, export, export_type):
    secret = png((201, 7, 99))
    url = upload_image(actor, new_project(actor), secret)
    thief_project = new_project(stranger)
    annotated_task(stranger, thief_project, url)

    files = export(stranger, thief_project, export_type)

    assert not any(secret in content for content in files.values())
    assert not any(name.startswith("images/") for name in files)
    if export_type == "COCO_WITH_IMAGES":
        # Treated as a file this server does not have: the URL stays, as the converter leaves it.
        [image] = orjson.loads(files["result.json"])["images"]
        assert image["file_name"] == url


@pytest.mark.parametrize("export", EXPORTS)
@pytest.mark.parametrize("export_type", ["COCO_WITH_IMAGES", "YOLO_WITH_IMAGES"])
def test_an_upload_of_the_same_organization_is_copied(actor, make_actor, export, export_type):
    image = png((3, 140, 250))
    url = upload_image(actor, new_project(actor), image)
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    other_project = new_project(colleague)
    annotated_task(colleague, other_project, url)

    files = export(colleague, other_project, export_type)

    name = "images/" + url.rsplit("/", 1)[-1]
    assert files[name] == image
    if export_type == "COCO_WITH_IMAGES":
        [entry] = orjson.loads(files["result.json"])["images"]
        assert (entry["width"], entry["height"]) == (37, 23)


def test_an_impossible_upload_name_is_a_missing_file(actor):
    """A name longer than the filesystem allows (or with a NUL) is a file this server does not have."""
    project_id = new_project(actor)
    upload_image(actor, project_id, png((1, 2, 3)))  # the project's upload folder exists
    for name in ("a" * 3000, "a%00b.png"):
        annotated_task(actor, project_id, f"/data/upload/{project_id}/{name}")
    files = easy_export(actor, project_id, "COCO_WITH_IMAGES")
    assert not any(name.startswith("images/") for name in files)
