"""Shape arithmetic of the object-detection exports, as label_studio_sdk's converter computes it
(same operations in the same order, so the floats written are the same)."""
from __future__ import annotations

import itertools
import math
from typing import Any, Mapping


def rotated_rectangle(label: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """x, y, width, height (percent) of the axis-aligned box around a rectangle rotated about its
    top-left corner."""
    if not all(key in label for key in ("x", "y", "width", "height")):
        return None
    x, y, w, h = label["x"], label["y"], label["width"], label["height"]
    rotation = label["rotation"] if "rotation" in label else 0.0
    if abs(rotation) > 0:
        alpha = math.atan(h / w)
        beta = math.pi * (rotation / 180)
        radius = math.sqrt((w / 2) ** 2 + (h / 2) ** 2)
        x_0 = x - radius * (math.cos(math.pi - alpha - beta) - math.cos(math.pi - alpha)) + w / 2
        y_0 = y + radius * (math.sin(math.pi - alpha - beta) - math.sin(math.pi - alpha)) + h / 2
        angles = (alpha + beta, math.pi - alpha + beta, math.pi + alpha + beta, 2 * math.pi - alpha + beta)
        xs = [x_0 + radius * math.cos(theta) for theta in angles]
        ys = [y_0 + radius * math.sin(theta) for theta in angles]
        x, y = min(xs), min(ys)
        w, h = max(xs) - x, max(ys) - y
    return x, y, w, h


def polygon_area(xs: list[float], ys: list[float]) -> float:
    """Shoelace formula."""
    n = len(xs)
    forward = sum(xs[i] * ys[i - 1] for i in range(n))
    backward = sum(ys[i] * xs[i - 1] for i in range(n))
    return float(0.5 * abs(forward - backward))


def polygon_bounding_box(xs, ys) -> list[float]:
    x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    return [x1, y1, x2 - x1, y2 - y1]


def yolo_box(label: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """Center x, center y, width, height as fractions of the image."""
    if not all(key in label for key in ("x", "y", "width", "height")):
        return None
    x, y, w, h = label["x"], label["y"], label["width"], label["height"]
    if x is None or y is None or w is None or h is None:
        return None
    try:
        return (x + w / 2) / 100, (y + h / 2) / 100, w / 100, h / 100
    except TypeError:
        return None


def yolo_obb_corners(label: Mapping[str, Any]) -> list[tuple[float, float]] | None:
    """The four corners (top-left, top-right, bottom-right, bottom-left) normalised to the image."""
    if not all(key in label for key in ("original_width", "original_height", "x", "y", "width", "height", "rotation")):
        return None
    width, height = label["original_width"], label["original_height"]
    x = label["x"] / 100 * width
    y = label["y"] / 100 * height
    w = label["width"] / 100 * width
    h = label["height"] / 100 * height
    rotation = math.radians(label.get("rotation", 0))
    cos, sin = math.cos(rotation), math.sin(rotation)
    corners = [(x, y), (x + w * cos, y + w * sin), (x + w * cos - h * sin, y + w * sin + h * cos), (x - h * sin, y + h * cos)]
    return [(cx / width, cy / height) for cx, cy in corners]


def config_categories(parsed_config: Mapping[str, Any]) -> tuple[list[dict], dict[str, int]]:
    """Categories of every label in the config: explicit `category` attributes first, then the
    other labels sorted by name on the lowest free ids."""
    labels: set[str] = set()
    categories: list[dict] = []
    ids: dict[str, int] = {}
    for info in parsed_config.values():
        labels |= set(info.get("labels", ()))
        attrs = info.get("labels_attrs", {})
        for label in attrs:
            raw = attrs[label].get("category")
            if raw is None:
                continue
            try:
                category_id = int(raw)
            except (TypeError, ValueError):
                continue
            categories.append({"id": category_id, "name": label})
            ids[label] = category_id
    used = set(ids.values())
    free = (number for number in itertools.count() if number not in used)
    for label, category_id in zip(sorted(labels - set(ids)), free):
        categories.append({"id": category_id, "name": label})
        ids[label] = category_id
    return categories, ids


def keypoint_labels(parsed_config: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for info in parsed_config.values():
        if info.get("type") == "KeyPointLabels":
            names.extend(info.get("labels", ()))
    return list(dict.fromkeys(names))


def keypoint_order(parsed_config: Mapping[str, Any]) -> list[str]:
    """Keypoint label names ordered by their `model_index` attribute (labels without one are left out)."""
    attrs: dict[str, dict] = {}
    for info in parsed_config.values():
        if info.get("type") == "KeyPointLabels":
            attrs.update(info.get("labels_attrs", {}))
    pairs, used = [], set()
    for name, values in attrs.items():
        try:
            index = int(values.get("model_index"))
        except (TypeError, ValueError):
            continue
        if index not in used:
            pairs.append((index, name))
            used.add(index)
    pairs.sort(key=lambda pair: pair[0])
    return [name for _, name in pairs]
