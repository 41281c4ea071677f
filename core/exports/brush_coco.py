"""BRUSH_TO_COCO export (result_coco.json + an empty images/ folder), as label_studio_sdk's converter
writes it (converter/exports/brush_to_coco.py): every brush mask's outer contours become COCO polygons
(OpenCV findContours, external contours, simple chain approximation), polygons are rounded to pixels,
rectangles kept as boxes. Categories are numbered from 1 in the order labels appear and get a random
color, as the converter gives them."""
from __future__ import annotations

import os
import random
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np
import orjson

from core.exports.brush import decode_rle
from core.exports.coco import _JsonArraySpill

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp")


def _random_color() -> str:
    return "#{:02x}{:02x}{:02x}".format(random.randint(0, 255), random.randint(0, 255), random.randint(0, 255))


def _annotator(completed_by: Any) -> str:
    if isinstance(completed_by, dict):
        return completed_by.get("email", "unknown")
    return str(completed_by)


def mask_contours(rle: Any, width: Any, height: Any) -> list[tuple[list[int], list[int], int]]:
    """(flat polygon, bbox, area) of each outer contour of at least 3 points of an RLE brush mask;
    nothing when the RLE does not decode to a width x height RGBA image."""
    if isinstance(rle, str):
        rle = rle.encode("utf-8")
    try:
        rgba = decode_rle(rle)
        alpha = np.frombuffer(bytes(rgba), dtype=np.uint8).reshape((height, width, 4))[:, :, 3].copy()
    except Exception:  # noqa: BLE001 - a broken mask exports nothing, as the converter logs and skips it
        return []
    contours, _ = cv2.findContours(alpha, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    shapes = []
    for contour in contours:
        if len(contour) < 3:
            continue
        flat = [int(coordinate) for coordinate in contour.reshape(-1)]
        x, y, w, h = cv2.boundingRect(contour)
        shapes.append((flat, [int(x), int(y), int(w), int(h)], int(cv2.contourArea(contour))))
    return shapes


def _polygon(points: list, width: Any, height: Any) -> tuple[list[list], list[int], int]:
    pixels = [[round(x * width / 100), round(y * height / 100)] for x, y in points]
    contour = np.array(pixels, dtype=np.float32).reshape((-1, 1, 2))
    bbox = [int(coordinate) for coordinate in cv2.boundingRect(contour)]
    return [[coordinate for point in pixels for coordinate in point]], bbox, int(cv2.contourArea(contour))


def _image_path(data: dict) -> str | None:
    for value in data.values():
        if isinstance(value, str) and value.lower().endswith(_IMAGE_SUFFIXES):
            return value
    return None


def _label_key(region: dict) -> str | None:
    for key in ("brushlabels", "polygonlabels", "rectanglelabels", "labels"):
        if key in region:
            return key
    return None


def write_brush_coco(items: Iterable[dict], output_dir: Path) -> None:
    (output_dir / "images").mkdir(parents=True, exist_ok=True)
    spill_dir = output_dir.parent / (output_dir.name + ".brush-coco-spill")
    spill_dir.mkdir(exist_ok=True)
    images, annotations = _JsonArraySpill(spill_dir / "images"), _JsonArraySpill(spill_dir / "annotations")
    categories: list[dict] = []
    category_ids: dict[str, int] = {}
    try:
        for image_id, item in enumerate(items):
            _add_item(image_id, item, images, annotations, categories, category_ids)
        images.close()
        annotations.close()
        now = datetime.now()
        info = {"year": now.year, "version": "1.0", "description": "Converted from Label Studio",
                "contributor": "Label Studio Converter", "date_created": str(now)}
        with open(output_dir / "result_coco.json", "wb") as out:
            out.write(b'{\n  "images": [')
            _copy_into(images.path, out, images.count)
            out.write(b'],\n  "annotations": [')
            _copy_into(annotations.path, out, annotations.count)
            out.write(b'],\n  "categories": ' + orjson.dumps(categories) + b',\n  "info": ' + orjson.dumps(info) + b"\n}")
    finally:
        images.close()
        annotations.close()
        shutil.rmtree(spill_dir, ignore_errors=True)


def _copy_into(path: Path, out, count: int) -> None:
    with open(path, "rb") as spill:
        shutil.copyfileobj(spill, out, 1 << 20)
    if count:
        out.write(b"\n  ")


def _add_item(image_id: int, item: dict, images, annotations, categories: list[dict], category_ids: dict) -> None:
    path = _image_path(item["input"])
    if not path or not item["output"]:
        return
    width = height = None
    valid = False
    annotator = _annotator(item["completed_by"])

    def add(category_id: int, segmentation: list, area: Any, bbox: list) -> None:
        annotations.append({"id": annotations.count, "image_id": image_id, "category_id": category_id,
                            "segmentation": segmentation, "area": area, "bbox": bbox, "iscrowd": 0,
                            "annotator": annotator})

    for regions in item["output"].values():
        for region in regions:
            if width is None and "original_width" in region:
                width, height = region["original_width"], region.get("original_height")
            kind = str(region.get("type", "")).lower()
            key = _label_key(region)
            if key is None:
                continue
            for label in region[key]:
                if label not in category_ids:
                    category_ids[label] = len(category_ids) + 1
                    categories.append({"id": category_ids[label], "name": label, "supercategory": "",
                                       "color": _random_color(), "metadata": {}})
                category_id = category_ids[label]
                if "rle" in region and key == "brushlabels":
                    if "original_width" not in region or "original_height" not in region:
                        continue
                    for flat, bbox, area in mask_contours(region["rle"], region["original_width"], region["original_height"]):
                        add(category_id, [flat], area, bbox)
                        valid = True
                elif "points" in region and key == "polygonlabels":
                    if "original_width" not in region or "original_height" not in region:
                        continue
                    segmentation, bbox, area = _polygon(region["points"], region["original_width"], region["original_height"])
                    add(category_id, segmentation, area, bbox)
                    valid = True
                elif kind == "rectanglelabels" or key == "labels":
                    if not all(k in region for k in ("x", "y", "width", "height", "original_width", "original_height")):
                        continue
                    x = region["x"] * region["original_width"] / 100
                    y = region["y"] * region["original_height"] / 100
                    w = region["width"] * region["original_width"] / 100
                    h = region["height"] * region["original_height"] / 100
                    add(category_id, [], w * h, [x, y, w, h])
                    valid = True
    if width is not None and height is not None and valid:
        images.append({"id": image_id, "file_name": os.path.basename(path), "path": path, "width": width,
                       "height": height})
