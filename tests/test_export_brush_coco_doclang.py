"""BRUSH_TO_COCO and DOCLANG exports against label_studio_sdk's converter (the oracle Label Studio 1.23.2
runs): our JSON export is fed to `Converter.convert` and its files are compared with ours file by file.
BRUSH_TO_COCO categories get a random color on both sides, so colors are compared by shape only."""
from __future__ import annotations

import json
import re

import numpy as np
import orjson
import pytest

from tests.test_export_formats import (BRUSH, annotate, brush, build_project, close, oracle, polygon, rectangle,
                                       region, tree, unpack, without_clock)

BRUSH_MIXED = ('<View><Image name="image" value="$image"/>'
               '<BrushLabels name="mask" toName="image"><Label value="Sky"/><Label value="Tree/Bush"/></BrushLabels>'
               '<PolygonLabels name="poly" toName="image"><Label value="Road"/></PolygonLabels>'
               '<RectangleLabels name="label" toName="image"><Label value="Cat"/></RectangleLabels></View>')


def _without_colors(coco: dict) -> dict:
    for category in coco["categories"]:
        assert re.fullmatch(r"#[0-9a-f]{6}", category.pop("color"))
    return coco


def compare_brush_coco(actor, project_id, config, tmp_path, *, all_tasks=True):
    query = "&download_all_tasks=true" if all_tasks else ""
    snapshot = actor.client.get(f"/api/projects/{project_id}/export?exportType=JSON{query}").content
    theirs = oracle(config, snapshot, "BRUSH_TO_COCO", tmp_path / "oracle")
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType=BRUSH_TO_COCO{query}")
    ours = tmp_path / "ours"
    unpack(response, ours)
    assert tree(ours) == tree(theirs) == {"images/", "result_coco.json"}
    mine = _without_colors(without_clock(orjson.loads((ours / "result_coco.json").read_bytes())))
    expected = _without_colors(without_clock(json.loads((theirs / "result_coco.json").read_text())))
    close(mine, expected, "result_coco.json")
    return mine


def _masks():
    sky = np.zeros((30, 40), dtype=np.uint8)
    sky[2:10, 5:35] = 255
    sky[12:14, 0:3] = 200  # a second blob: a second polygon
    sky[20, 20] = 255  # one pixel: a contour of fewer than 3 points, dropped
    ring = np.zeros((30, 40), dtype=np.uint8)
    ring[15:29, 1:12] = 255
    ring[18:25, 4:8] = 0  # a hole: only the outer contour is kept
    ring[5:9, 30:33] = 128
    diagonal = np.zeros((30, 40), dtype=np.uint8)
    for step in range(15):
        diagonal[step + 5, step + 10:step + 14] = 255
    return sky, ring, diagonal


def test_brush_to_coco_matches_the_converter(actor, db, tmp_path):
    sky, ring, diagonal = _masks()
    project_id = build_project(actor, db, BRUSH, [
        ({"image": "http://example.com/landscape.jpg"},
         [([brush(sky, "Sky", 1), brush(ring, "Tree/Bush", 2), brush(diagonal, "Sky", 3)], False),
          ([brush(ring, "Sky", 4)], False)]),
        ({"image": "http://example.com/none.jpg"}, []),
        ({"image": "http://example.com/skipped.png"}, [([], True)]),
        ({"image": "http://example.com/blank.png?x=1"}, [([brush(sky, "Sky", 5)], False)]),  # not an image path
        ({"image": "http://example.com/empty-mask.png"}, [([brush(np.zeros((8, 8), dtype=np.uint8), "Sky", 6)], False)]),
    ])
    coco = compare_brush_coco(actor, project_id, BRUSH, tmp_path)
    assert [category["name"] for category in coco["categories"]] == ["Sky", "Tree/Bush"]
    assert {annotation["image_id"] for annotation in coco["annotations"]} == {0, 1}
    assert all(len(annotation["segmentation"]) == 1 and len(annotation["segmentation"][0]) >= 6
               for annotation in coco["annotations"])
    compare_brush_coco(actor, project_id, BRUSH, tmp_path / "annotated-only", all_tasks=False)


def test_brush_to_coco_keeps_polygons_and_rectangles(actor, db, tmp_path):
    sky, _, _ = _masks()
    project_id = build_project(actor, db, BRUSH_MIXED, [
        ({"image": "http://example.com/street.jpeg"},
         [([polygon([[10, 10], [50.5, 12.25], [40, 60], [12, 55.5]], "Road"), rectangle(10, 20, 30, 40.5, "Cat"),
            brush(sky, "Sky", 1), polygon([[1, 1], [2.5, 1], [2, 2.25]], "Road")], False)]),
    ])
    coco = compare_brush_coco(actor, project_id, BRUSH_MIXED, tmp_path)
    assert [category["name"] for category in coco["categories"]] == ["Road", "Cat", "Sky"]


def test_brush_to_coco_without_annotations_is_an_empty_dataset(actor, db, tmp_path):
    project_id = build_project(actor, db, BRUSH, [({"image": "http://example.com/x.jpg"}, [])])
    coco = compare_brush_coco(actor, project_id, BRUSH, tmp_path)
    assert coco["images"] == [] and coco["annotations"] == [] and coco["categories"] == []


def test_brush_to_coco_snapshot_conversion(actor, db, tmp_path):
    """POST .../convert writes the same file as the easy export (from the snapshot's JSON)."""
    import io
    import zipfile

    from tests.test_export_snapshots import create_snapshot, wait_for_snapshot

    sky, ring, _ = _masks()
    project_id = build_project(actor, db, BRUSH, [
        ({"image": "http://example.com/landscape.jpg"}, [([brush(sky, "Sky", 1), brush(ring, "Tree/Bush", 2)], False)])])
    snapshot = create_snapshot(actor, project_id)
    base = f"/api/projects/{project_id}/exports/{snapshot['id']}"
    assert actor.client.post(f"{base}/convert", json={"export_type": "BRUSH_TO_COCO"}).status_code == 200
    done = wait_for_snapshot(actor, project_id, snapshot["id"])
    assert [item["status"] for item in done["converted_formats"]] == ["completed"]
    converted = actor.client.get(f"{base}/download?exportType=BRUSH_TO_COCO")
    assert converted.status_code == 200 and converted.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(converted.content))
    assert set(archive.namelist()) == {"images/", "result_coco.json"}
    easy = zipfile.ZipFile(io.BytesIO(actor.client.get(
        f"/api/projects/{project_id}/export?exportType=BRUSH_TO_COCO&download_all_tasks=true").content))
    close(_without_colors(without_clock(orjson.loads(archive.read("result_coco.json")))),
          _without_colors(without_clock(orjson.loads(easy.read("result_coco.json")))))


# ---------------------------------------------------------------------------------------------- DOCLANG

DOCLANG = ('<View><Image name="image" value="$image"/>'
           '<TextArea name="doc" toName="image"/><Choices name="ok" toName="image"><Choice value="yes"/></Choices></View>')
DOCLANG_PAGES = '<View><Image name="pages" valueList="$pages"/><TextArea name="doc" toName="pages"/></View>'
PNG_DATA_URL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def text_area(*texts, from_name="doc", to_name="image"):
    return region(from_name, to_name, "textarea", {"text": list(texts)})


def doc(body: str, namespace: str | None = None) -> str:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return f"<doclang{xmlns}>{body}</doclang>"


def write_png(path, color=(10, 20, 30), size=(8, 6)):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def dclx_members(path) -> list[tuple[str, bytes]]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def label_studio_conversion(config, snapshot: bytes, tmp_path, *, upload_dir, download_resources):
    """The converter's DOCLANG files, with the config parsed as Label Studio parses it for the converter
    (project.get_parsed_config(), which knows Image valueList; the sdk's parse_config does not)."""
    import shutil

    from label_studio_sdk.converter import Converter

    from core import label_config as lc

    tmp_path.mkdir(parents=True)
    source = tmp_path / "input.json"
    source.write_bytes(snapshot)
    out = tmp_path / "out"
    out.mkdir()
    converter = Converter(config=lc.parsed_label_config(config), project_dir=None, upload_dir=upload_dir,
                          download_resources=download_resources)
    converter.convert(str(source), str(out), "DOCLANG", is_dir=False)
    files = list(out.iterdir())
    if len(files) == 1 and files[0].is_file():
        single = tmp_path / "single"
        single.mkdir()
        shutil.move(files[0], single / f"single{files[0].suffix}")
        return single
    return out


def compare_doclang(actor, project_id, config, tmp_path, *, upload_dir=None, download_resources=True, all_tasks=True,
                    snapshot=None):
    query = "&download_all_tasks=true" if all_tasks else ""
    if snapshot is None:
        snapshot = actor.client.get(f"/api/projects/{project_id}/export?exportType=JSON{query}").content
        response = actor.client.get(f"/api/projects/{project_id}/export?exportType=DOCLANG{query}"
                                    f"&download_resources={'true' if download_resources else 'false'}")
    else:
        snapshot, response = snapshot
    theirs = label_studio_conversion(config, snapshot, tmp_path / "oracle", upload_dir=upload_dir,
                                     download_resources=download_resources)
    ours = tmp_path / "ours"
    unpack(response, ours)
    assert tree(ours) == tree(theirs)
    archives = {}
    for path in sorted(theirs.rglob("*.dclx")):
        mine = dclx_members(ours / path.relative_to(theirs))
        assert mine == dclx_members(path), path.name
        archives[path.name] = dict(mine)
    return response, archives


def test_doclang_matches_the_converter(actor, db, tmp_path, settings):
    upload_dir = settings.data_dir / "upload"

    def uploaded_page(project_id):
        write_png(upload_dir / str(project_id) / "page.png")
        write_png(upload_dir / str(project_id) / "figure.png", (200, 0, 0))
        write_png(upload_dir / str(project_id) / "chart.jpg", (0, 200, 0))
        return {"image": f"/data/upload/{project_id}/page.png", "title": "uploaded"}

    state = {}

    def with_assets(project_id):
        state["project"] = project_id
        return uploaded_page(project_id)

    project_id = create_doclang_project(actor, db, DOCLANG, [
        (with_assets, lambda pid: [
            ([text_area(doc(f'<page><src uri="/data/upload/{pid}/figure.png"/><src uri="/data/upload/{pid}/figure.png?v=2"/><src uri="/data/upload/{pid}/figure.png"/>'
                            f'<src uri="http://example.com/remote.png"/><src uri="/data/upload/{pid}/chart.jpg"/>'
                            f'<src uri="data:image/png;base64,AAAA"/><src uri="/data/upload/{pid}/notes.txt"/></page>'
                            '<text>Héllo &amp; world</text>')),
              region("ok", "image", "choices", {"choices": ["yes"]})], False),
            ([text_area("not a document", doc("<text>second</text>", "https://www.doclang.ai/ns/v1"))], False),
            ([text_area(doc("<text>skipped</text>"))], True),
            ([text_area("<other><text>no</text></other>", doc("<text>x</text>", "https://www.doclang.ai/ns/vX"),
                        doc("<text>x</text>", "http://example.com/ns"))], False),
        ]),
        ({"image": PNG_DATA_URL, "doclang": doc("<text>from data, ignored</text>")},
         lambda pid: [([text_area(doc("<text>data url page</text>"))], False)]),
        ({"image": "http://example.com/remote.jpg", "doclang": doc("<text>only in data</text>")}, lambda pid: []),
        ({"image": "http://example.com/a.webp",
          "nested": {"document": [doc("<text>one</text>"), doc("<text>two</text>"), doc("<text>one</text>")],
                     "doclang": "<doclang>broken"}, "other": doc("<text>not under a key</text>")}, lambda pid: []),
        ({"image": "http://example.com/nothing.png", "text": doc("<text>not under a key</text>")}, lambda pid: []),
        ({"image": 42}, lambda pid: [([region("ok", "image", "choices", {"choices": ["yes"]})], False)]),
    ])
    _, archives = compare_doclang(actor, project_id, DOCLANG, tmp_path, upload_dir=str(upload_dir))
    names = sorted(archives)
    assert len(names) == 6 and any(name.endswith("-data-2.dclx") for name in names)
    first = next(members for name, members in archives.items() if "assets/figure.png" in members)
    assert {"assets/figure.png", "assets/figure-3.png", "assets/chart.jpg", "pages/1.png", "document.xml",
            "[Content_Types].xml", "_rels/.rels"} == set(first)
    document = first["document.xml"]
    assert b'uri="assets/figure-3.png"' in document and b"http://example.com/remote.png" in document
    assert b"figure.png?v=2" in document  # not a file: the uri stays (and its name was still taken)
    assert document.startswith(b"<doclang><page>")  # re-serialized by lxml, no XML declaration
    # Without resources: the documents as they are, no pages or assets.
    _, bare = compare_doclang(actor, project_id, DOCLANG, tmp_path / "bare", upload_dir=str(upload_dir),
                              download_resources=False)
    assert all(set(members) == {"[Content_Types].xml", "_rels/.rels", "document.xml"} for members in bare.values())
    # Annotated tasks only.
    compare_doclang(actor, project_id, DOCLANG, tmp_path / "annotated", upload_dir=str(upload_dir), all_tasks=False)


def create_doclang_project(actor, db, config, tasks):
    from tests.test_export import add_task, create_project

    project_id = create_project(actor, label_config=config)
    for number, (data, annotations) in enumerate(tasks, start=1):
        task_id = add_task(db, project_id, data(project_id) if callable(data) else data, inner_id=number)
        for index, (result, cancelled) in enumerate(annotations(project_id)):
            annotate(db, task_id, project_id, actor.user_id, result, T[index], cancelled)
    db.commit()
    return project_id


T = __import__("tests.test_export_formats", fromlist=["T"]).T


def test_doclang_pages_from_an_image_list_and_a_single_archive(actor, db, tmp_path, settings):
    upload_dir = settings.data_dir / "upload"

    def pages(project_id):
        write_png(upload_dir / str(project_id) / "p1.png")
        write_png(upload_dir / str(project_id) / "p2.jpeg", (1, 2, 3))
        return {"pages": [f"/data/upload/{project_id}/p1.png", {"url": PNG_DATA_URL}, "http://example.com/p3.png",
                          "data:text/plain,not-base64", f"/data/upload/{project_id}/p2.jpeg", ""]}

    project_id = create_doclang_project(actor, db, DOCLANG_PAGES, [
        (pages, lambda pid: [([text_area(doc("<page/><page/><page/>"), to_name="pages")], False)])])
    response, archives = compare_doclang(actor, project_id, DOCLANG_PAGES, tmp_path, upload_dir=str(upload_dir))
    assert response.headers["filename"].endswith(".dclx") and response.headers["content-type"] == "application/dclx"
    (members,) = archives.values()
    assert [name for name in members if name.startswith("pages/")] == ["pages/1.png", "pages/2.png", "pages/5.jpeg"]


def test_doclang_without_documents_is_an_empty_archive(actor, db, tmp_path):
    project_id = create_doclang_project(actor, db, DOCLANG, [
        ({"image": "http://example.com/x.png"}, lambda pid: [([text_area("plain text")], False)])])
    response = actor.client.get(f"/api/projects/{project_id}/export?exportType=DOCLANG")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    import zipfile
    import io

    assert zipfile.ZipFile(io.BytesIO(response.content)).namelist() == []


def test_doclang_snapshot_with_predictions(actor, db, tmp_path, settings):
    """A snapshot with expanded predictions: prediction documents are archived too; convert and
    download give the converter's files."""
    from core.predictions.models import Prediction
    from tests.test_export_snapshots import create_snapshot, wait_for_snapshot

    upload_dir = settings.data_dir / "upload"
    project_id = create_doclang_project(actor, db, DOCLANG, [
        ({"image": "http://example.com/x.png"}, lambda pid: [([text_area(doc("<text>annotated</text>"))], False)]),
        ({"image": "http://example.com/y.png", "document": doc("<text>data</text>")}, lambda pid: []),
    ])
    task_ids = [row["id"] for row in actor.client.get(
        f"/api/projects/{project_id}/export?exportType=JSON&download_all_tasks=true").json()]
    for task_id, text in zip(task_ids, ("first prediction", "second prediction")):
        db.add(Prediction(task_id=task_id, project_id=project_id, model_version="m",
                          result=[{"from_name": "doc", "to_name": "image", "type": "textarea",
                                   "value": {"text": [doc(f"<text>{text}</text>")]}}]))
    db.commit()
    snapshot = create_snapshot(actor, project_id, {"serialization_options": {"predictions": {"only_id": False}}})
    base = f"/api/projects/{project_id}/exports/{snapshot['id']}"
    source = actor.client.get(f"{base}/download").content
    assert actor.client.post(f"{base}/convert", json={"export_type": "DOCLANG"}).status_code == 200
    done = wait_for_snapshot(actor, project_id, snapshot["id"])
    assert [item["status"] for item in done["converted_formats"]] == ["completed"]
    converted = actor.client.get(f"{base}/download?exportType=DOCLANG")
    _, archives = compare_doclang(actor, project_id, DOCLANG, tmp_path, upload_dir=str(upload_dir),
                                  download_resources=False, snapshot=(source, converted))
    assert sum("-prediction-" in name for name in archives) == 2 and not any("-data" in name for name in archives)


def test_doclang_is_offered_for_text_area_configs():
    from core import label_config as lc
    from core.exports.formats import supported_formats

    assert "DOCLANG" in supported_formats(lc.parsed_label_config(DOCLANG))
    assert "DOCLANG" not in supported_formats(lc.parsed_label_config(BRUSH))
