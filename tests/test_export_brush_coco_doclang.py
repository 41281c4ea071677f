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
