"""COCO export (result.json + images/), as label_studio_sdk's converter writes it from the JSON export.

Images and annotations are appended to spill files as tasks stream by and joined into result.json
at the end, so memory does not grow with the project."""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

import orjson

from core.errors import ValidationError
from core.exports import geometry
from core.exports.media import MediaResolver, image_size

_LABEL_KEYS = ("rectanglelabels", "polygonlabels", "keypointlabels", "labels")


class _JsonArraySpill:
    """A JSON array written element by element to a file."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "wb")
        self.count = 0

    def append(self, value: Any) -> None:
        self.file.write((b",\n    " if self.count else b"\n    ") + orjson.dumps(value))
        self.count += 1

    def close(self) -> None:
        self.file.close()


def _coco_categories(parsed_config: Mapping[str, Any]) -> tuple[list[dict], dict[str, int]]:
    categories, ids = geometry.config_categories(parsed_config)
    keypoints = geometry.keypoint_labels(parsed_config)
    if not keypoints:
        return categories, ids
    # Keypoint labels share one "default" category that lists them.
    kept = [dict(category) for category in categories if category["name"] not in keypoints]
    mapping = {category["name"]: category["id"] for category in kept}
    numeric = [category["id"] for category in kept if isinstance(category["id"], int)]
    merged_id = max(numeric) + 1 if numeric else 0
    kept.append({"id": merged_id, "name": "default", "supercategory": "default", "keypoints": keypoints, "skeleton": []})
    mapping.update({name: merged_id for name in keypoints})
    return kept, mapping


def _keypoints_annotation(labels: list[dict], order: list[str], annotation_id: int, image_id: int, ids: dict) -> dict:
    if not order:
        raise ValidationError({"export_type": [
            "No keypoint order found. Please ensure that KeyPointLabels in your label config have 'model_index' attributes defined."
        ]})
    keypoints = [0] * (len(order) * 3)
    for label in labels:
        width, height = label["original_width"], label["original_height"]
        x, y = label["x"] / 100 * width, label["y"] / 100 * height
        names = label.get("keypointlabels", [])
        visibility = 2 if names else 0
        for name in names:
            if name in order:
                index = order.index(name)
                keypoints[3 * index] = int(round(x))
                keypoints[3 * index + 1] = int(round(y))
                keypoints[3 * index + 2] = visibility
    visible = [index for index in range(len(order)) if keypoints[3 * index + 2] > 0]
    if visible:
        xs = [keypoints[3 * index] for index in visible]
        ys = [keypoints[3 * index + 1] for index in visible]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    else:
        bbox = [0, 0, 0, 0]
    return {"id": annotation_id, "image_id": image_id, "category_id": ids.get(order[0], 0), "keypoints": keypoints,
            "num_keypoints": len(visible), "bbox": bbox, "iscrowd": 0}


def write_coco(items: Iterable[dict], output_dir: Path, parsed_config: Mapping[str, Any], data_key: str | None,
               media: MediaResolver) -> None:
    (output_dir / "images").mkdir(parents=True, exist_ok=True)
    categories, ids = _coco_categories(parsed_config)
    spill_dir = output_dir.parent / (output_dir.name + ".coco-spill")
    spill_dir.mkdir(exist_ok=True)
    images, annotations = _JsonArraySpill(spill_dir / "images"), _JsonArraySpill(spill_dir / "annotations")
    try:
        for item in items:
            _add_item(item, output_dir, data_key, media, images, annotations, categories, ids, parsed_config)
        images.close()
        annotations.close()
        now = datetime.now()
        info = {"year": now.year, "version": "1.0", "description": "", "contributor": "Label Studio", "url": "",
                "date_created": str(now)}
        with open(output_dir / "result.json", "wb") as out:
            out.write(b'{\n  "images": [')
            _copy_into(images.path, out, images.count)
            out.write(b'],\n  "categories": ' + orjson.dumps(categories) + b',\n  "annotations": [')
            _copy_into(annotations.path, out, annotations.count)
            out.write(b'],\n  "info": ' + orjson.dumps(info) + b"\n}")
    finally:
        images.close()
        annotations.close()
        shutil.rmtree(spill_dir, ignore_errors=True)


def _copy_into(path: Path, out, count: int) -> None:
    with open(path, "rb") as spill:
        shutil.copyfileobj(spill, out, 1 << 20)
    if count:
        out.write(b"\n  ")


def _add_item(item, output_dir, data_key, media, images, annotations, categories, ids, parsed_config) -> None:
    url = item["input"].get(data_key) if data_key else None
    if not isinstance(url, str):
        return
    image_path, local = media.place(url, output_dir, "images")
    image_id = images.count
    width = height = None
    size = image_size(local)
    if size:
        width, height = size[0], size[1]
        images.append({"width": width, "height": height, "id": image_id, "file_name": image_path})
    if not item["output"]:
        if not width:
            images.append({"width": None, "height": None, "id": image_id, "file_name": image_path})
        return
    labels = [label for values in item["output"].values() for label in values]
    keypoint_labels = []
    for label in labels:
        category_name = next((label[key][0] for key in _LABEL_KEYS if key in label and len(label[key]) > 0), None)
        if category_name is None:
            continue
        if not height or not width:
            if "original_width" not in label or "original_height" not in label:
                continue
            width, height = label["original_width"], label["original_height"]
            images.append({"width": width, "height": height, "id": image_id, "file_name": image_path})
        if category_name not in ids:
            ids[category_name] = len(categories)
            categories.append({"id": ids[category_name], "name": category_name})
        category_id = ids[category_name]
        annotation_id = annotations.count
        if "rectanglelabels" in label or "labels" in label:
            box = geometry.rotated_rectangle(label)
            if box is None:
                continue
            x, y, w, h = box
            x = x * label["original_width"] / 100
            y = y * label["original_height"] / 100
            w = w * label["original_width"] / 100
            h = h * label["original_height"] / 100
            annotations.append({"id": annotation_id, "image_id": image_id, "category_id": category_id, "segmentation": [],
                                "bbox": [x, y, w, h], "ignore": 0, "iscrowd": 0, "area": w * h})
        elif "polygonlabels" in label:
            points = [(px / 100 * width, py / 100 * height) for px, py in label["points"]]
            xs, ys = zip(*points)
            annotations.append({"id": annotation_id, "image_id": image_id, "category_id": category_id,
                                "segmentation": [[coordinate for point in points for coordinate in point]],
                                "bbox": geometry.polygon_bounding_box(xs, ys), "ignore": 0, "iscrowd": 0,
                                "area": geometry.polygon_area(list(xs), list(ys))})
        elif "keypointlabels" in label:
            keypoint_labels.append(label)
    if keypoint_labels:
        annotations.append(_keypoints_annotation(keypoint_labels, geometry.keypoint_order(parsed_config),
                                                 annotations.count, image_id, ids))
