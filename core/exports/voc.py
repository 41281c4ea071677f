"""Pascal VOC XML export (Annotations/<image>.xml + images/), as label_studio_sdk's converter writes it
from the JSON export."""
from __future__ import annotations

import os
import xml.dom.minidom
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.exports.media import MediaResolver, image_size


def _annotator(completed_by: Any) -> str:
    return completed_by.get("email", "") if isinstance(completed_by, dict) else str(completed_by)


def write_voc(items: Iterable[dict], output_dir: Path, parsed_config: Mapping[str, Any], data_key: str | None,
              media: MediaResolver) -> None:
    (output_dir / "images").mkdir(parents=True, exist_ok=True)
    annotations_dir = output_dir / "Annotations"
    for item in items:
        url = item["input"].get(data_key) if data_key else None
        if not isinstance(url, str):
            continue
        annotations_dir.mkdir(exist_ok=True)
        channels = 3
        image_path = url
        if not os.path.exists(url):
            image_path, local = media.place(url, output_dir, "images")
            size = image_size(local)
            if size:
                channels = size[2]
        if not item["output"]:
            continue
        boxes = [label for values in item["output"].values() for label in values]
        if not boxes or "original_width" not in boxes[0] or "original_height" not in boxes[0]:
            continue
        image_name = os.path.basename(image_path)
        width, height = boxes[0]["original_width"], boxes[0]["original_height"]
        document = _voc_document(image_name, _annotator(item["completed_by"]), width, height, channels, boxes)
        with open(annotations_dir / (os.path.splitext(image_name)[0] + ".xml"), "w", encoding="utf8") as out:
            document.writexml(out, addindent="", newl="\n", encoding="utf-8")


def _voc_document(image_name: str, annotator: str, width, height, channels: int, boxes: list[dict]):
    document = xml.dom.getDOMImplementation().createDocument(None, "annotation", None)
    root = document.documentElement

    def child(tag: str, text: str, parent) -> None:
        node = document.createElement(tag)
        node.appendChild(document.createTextNode(text))
        parent.appendChild(node)

    def group(tag: str, children: list[tuple[str, str]], parent) -> Any:
        node = document.createElement(tag)
        for name, text in children:
            child(name, text, node)
        parent.appendChild(node)
        return node

    child("folder", "images", root)
    child("filename", image_name, root)
    group("source", [("database", "MyDatabase"), ("annotation", "COCO2017"), ("image", "flickr"), ("flickrid", "NULL"),
                     ("annotator", annotator)], root)
    group("owner", [("flickrid", "NULL"), ("name", "Label Studio")], root)
    group("size", [("width", str(width)), ("height", str(height)), ("depth", str(channels))], root)
    child("segmented", "0", root)
    for box in boxes:
        key = "rectanglelabels" if "rectanglelabels" in box else ("labels" if "labels" in box else None)
        if key is None or len(box[key]) == 0:
            continue
        x = int(box["x"] / 100 * width)
        y = int(box["y"] / 100 * height)
        w = int(box["width"] / 100 * width)
        h = int(box["height"] / 100 * height)
        node = group("object", [("name", box[key][0]), ("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")], root)
        group("bndbox", [("xmin", str(x)), ("ymin", str(y)), ("xmax", str(x + w)), ("ymax", str(y + h))], node)
    return document
