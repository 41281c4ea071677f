"""YOLO and YOLOv8 OBB exports (labels/<image>.txt, images/, classes.txt, notes.json), as
label_studio_sdk's converter writes them from the JSON export."""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.exports import geometry
from core.exports.media import MediaResolver


def _keypoint_categories(parsed_config: Mapping[str, Any]) -> tuple[list[dict], dict[str, int]]:
    keypoints = geometry.keypoint_labels(parsed_config)
    rectangles: list[str] = []
    for info in parsed_config.values():
        if info.get("type") == "RectangleLabels":
            rectangles.extend(info.get("labels", ()))
    rectangles = list(dict.fromkeys(rectangles))
    categories = [{"id": index, "name": name, "keypoints": keypoints} for index, name in enumerate(rectangles)]
    return categories, {name: index for index, name in enumerate(rectangles)}


def write_yolo(items: Iterable[dict], output_dir: Path, parsed_config: Mapping[str, Any], data_key: str | None,
               media: MediaResolver, *, oriented: bool) -> None:
    labels_dir = output_dir / "labels"
    (output_dir / "images").mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    with_keypoints = any(info.get("type") == "KeyPointLabels" for info in parsed_config.values())
    if with_keypoints:
        categories, ids = _keypoint_categories(parsed_config)
        order = geometry.keypoint_order(parsed_config)
    else:
        categories, ids = geometry.config_categories(parsed_config)
        order = []
    for item in items:
        urls = item["input"].get(data_key) if data_key else None
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not isinstance(urls, list) or not isinstance(urls[-1], str):
            continue
        # Multi-image tasks: the converter names the label file after the last image.
        image_path = urls[-1] if os.path.exists(urls[-1]) else media.place(urls[-1], output_dir, "images")[0]
        name = os.path.splitext(os.path.basename(image_path))[0][: 255 - 4]
        label_path = labels_dir / f"{name}.txt"
        regions = [label for values in item["output"].values() for label in values]
        if not regions:
            if not label_path.exists():
                label_path.touch()
            continue
        if with_keypoints:
            label_path.write_text(_keypoint_lines(regions, categories, order), encoding="utf-8")
        else:
            # Rewritten per annotation: the task's oldest annotation (the converter's last item) wins.
            label_path.write_text(_box_lines(regions, categories, ids, oriented))
    (output_dir / "classes.txt").write_text("".join(category["name"] + "\n" for category in categories), encoding="utf8")
    notes = {"categories": categories, "info": {"year": datetime.now().year, "version": "1.0", "contributor": "Label Studio"}}
    (output_dir / "notes.json").write_text(json.dumps(notes, indent=2), encoding="utf8")


def _box_lines(regions: list[dict], categories: list[dict], ids: dict[str, int], oriented: bool) -> str:
    lines = []
    for label in regions:
        names = [name for key in ("rectanglelabels", "polygonlabels", "labels") if key in label and len(label[key]) > 0
                 for name in label[key]]
        for name in names:
            if name not in ids:
                ids[name] = len(categories)
                categories.append({"id": ids[name], "name": name})
            category_id = ids[name]
            if "rectanglelabels" in label or "rectangle" in label or "labels" in label:
                if oriented:
                    corners = geometry.yolo_obb_corners(label)
                    if corners is None:
                        continue
                    values = [category_id] + [coordinate for corner in corners for coordinate in corner]
                else:
                    box = geometry.yolo_box(label)
                    if box is None:
                        continue
                    values = [category_id, *box]
            elif "polygonlabels" in label or "polygon" in label:
                if "points" not in label:
                    continue
                values = [category_id] + [coordinate for x, y in label["points"] for coordinate in (x / 100, y / 100)]
            else:
                continue
            lines.append(" ".join(f"{value}" for value in values) + "\n")
    return "".join(lines)


def _keypoint_lines(regions: list[dict], categories: list[dict], order: list[str]) -> str:
    class_ids = {category["name"]: category["id"] for category in categories}
    boxes: dict[Any, dict] = {}
    for region in regions:
        if region["type"].lower() == "rectanglelabels":
            names = region.get("rectanglelabels") or []
            if not names or class_ids.get(names[0]) is None:
                continue
            x, y = region["x"] / 100.0, region["y"] / 100.0
            width, height = region["width"] / 100.0, region["height"] / 100.0
            boxes[region["id"]] = {"values": [class_ids[names[0]], x + width / 2.0, y + height / 2.0, width, height],
                                   "keypoints": {}}
    for region in regions:
        if region["type"].lower() == "keypointlabels":
            parent = region.get("parentID")
            names = region.get("keypointlabels") or []
            if parent in boxes and names:
                boxes[parent]["keypoints"][names[0]] = (region["x"] / 100.0, region["y"] / 100.0, 2)
    lines = []
    for box in boxes.values():
        values = list(box["values"])
        for name in order:
            values.extend(box["keypoints"].get(name, (0.0, 0.0, 0)))
        lines.append(" ".join(map(str, values)))
    return "\n".join(lines)
