"""Label Studio's export formats: name, title, description, link and tags as its converter lists them,
and which of them a labeling config supports (label_studio_sdk Converter._get_supported_formats)."""
from __future__ import annotations

from typing import Any, Mapping

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core import label_config as lc
from core.projects.queries import get_project

EXPORT_FORMAT_INFO: tuple[dict, ...] = (
    {'title': 'JSON', 'description': "List of items in raw JSON format stored in one JSON file. Use to export both the data and the annotations for a dataset. It's Label Studio Common Format", 'link': 'https://labelstud.io/guide/export.html#JSON', 'name': 'JSON'},
    {'title': 'JSON-MIN', 'description': 'List of items where only "from_name", "to_name" values from the raw JSON format are exported. Use to export only the annotations for a dataset.', 'link': 'https://labelstud.io/guide/export.html#JSON-MIN', 'name': 'JSON_MIN'},
    {'title': 'CSV', 'description': 'Results are stored as comma-separated values with the column names specified by the values of the "from_name" and "to_name" fields.', 'link': 'https://labelstud.io/guide/export.html#CSV', 'name': 'CSV'},
    {'title': 'TSV', 'description': 'Results are stored in tab-separated tabular file with column names specified by "from_name" "to_name" values', 'link': 'https://labelstud.io/guide/export.html#TSV', 'name': 'TSV'},
    {'title': 'CONLL2003', 'description': 'Popular format used for the CoNLL-2003 named entity recognition challenge.', 'link': 'https://labelstud.io/guide/export.html#CONLL2003', 'tags': ['sequence labeling', 'text tagging', 'named entity recognition'], 'name': 'CONLL2003'},
    {'title': 'COCO', 'description': 'Popular machine learning format used by the COCO dataset for object detection and image segmentation tasks with polygons and rectangles.', 'link': 'https://labelstud.io/guide/export.html#COCO', 'tags': ['image segmentation', 'object detection', 'keypoints'], 'name': 'COCO'},
    {'title': 'COCO with Images', 'description': 'COCO format with images downloaded.', 'link': 'https://labelstud.io/guide/export.html#COCO', 'tags': ['image segmentation', 'object detection', 'keypoints'], 'name': 'COCO_WITH_IMAGES'},
    {'title': 'Pascal VOC XML', 'description': 'Popular XML format used for object detection and polygon image segmentation tasks.', 'link': 'https://labelstud.io/guide/export.html#Pascal-VOC-XML', 'tags': ['image segmentation', 'object detection'], 'name': 'VOC'},
    {'title': 'YOLO', 'description': 'Popular TXT format is created for each image file. Each txt file contains annotations for the corresponding image file, that is object class, object coordinates, height & width.', 'link': 'https://labelstud.io/guide/export.html#YOLO', 'tags': ['image segmentation', 'object detection', 'keypoints'], 'name': 'YOLO'},
    {'title': 'YOLO with Images', 'description': 'YOLO format with images downloaded.', 'link': 'https://labelstud.io/guide/export.html#YOLO', 'tags': ['image segmentation', 'object detection', 'keypoints'], 'name': 'YOLO_WITH_IMAGES'},
    {'title': 'YOLOv8 OBB', 'description': 'Popular TXT format is created for each image file. Each txt file contains annotations for the corresponding image file. The YOLO OBB format designates bounding boxes by their four corner points with coordinates normalized between 0 and 1, so it is possible to export rotated objects.', 'link': 'https://labelstud.io/guide/export.html#YOLO', 'tags': ['image segmentation', 'object detection'], 'name': 'YOLO_OBB'},
    {'title': 'YOLOv8 OBB with Images', 'description': 'YOLOv8 OBB format with images downloaded.', 'link': 'https://labelstud.io/guide/export.html#YOLO', 'tags': ['image segmentation', 'object detection'], 'name': 'YOLO_OBB_WITH_IMAGES'},
    {'title': 'Brush labels to NumPy', 'description': 'Export your brush labels as NumPy 2d arrays. Each label outputs as one image.', 'link': 'https://labelstud.io/guide/export.html#Brush-labels-to-NumPy-amp-PNG', 'tags': ['image segmentation'], 'name': 'BRUSH_TO_NUMPY'},
    {'title': 'Brush labels to PNG', 'description': 'Export your brush labels as PNG images. Each label outputs as one image.', 'link': 'https://labelstud.io/guide/export.html#Brush-labels-to-NumPy-amp-PNG', 'tags': ['image segmentation'], 'name': 'BRUSH_TO_PNG'},
    {'title': 'ASR Manifest', 'description': 'Export audio transcription labels for automatic speech recognition as the JSON manifest format expected by NVIDIA NeMo models.', 'link': 'https://labelstud.io/guide/export.html#ASR-MANIFEST', 'tags': ['speech recognition'], 'name': 'ASR_MANIFEST'},
    {'title': 'Brush labels to COCO', 'description': 'Export your brush labels as COCO format for segmentation tasks. Converts RLE encoded masks to COCO polygons.', 'link': 'https://labelstud.io/guide/export.html#COCO', 'tags': ['image segmentation', 'brush annotations'], 'name': 'BRUSH_TO_COCO'},
    {'title': 'DocLang (.dclx)', 'description': 'Package annotations from the Doclang Interface as DocLang OPC archives (document.xml + page image) for downstream Docling model training.', 'link': 'https://github.com/doclang-project/doclang/blob/main/spec.md#doclang-archive-format', 'tags': ['document', 'doclang'], 'name': 'DOCLANG'},
)
ALL_FORMAT_NAMES = tuple(info["name"] for info in EXPORT_FORMAT_INFO)
# The converter's legacy CSV writer: accepted by name (as Label Studio does), never listed.
CSV_OLD = "CSV_OLD"
_OBJECT_DETECTION = ("COCO", "COCO_WITH_IMAGES", "YOLO", "YOLO_WITH_IMAGES", "YOLO_OBB", "YOLO_OBB_WITH_IMAGES")


def data_keys(parsed_config: Mapping[str, Any]) -> list[str]:
    """Every task data key the controls' objects read (value or valueList), in config order."""
    keys: dict[str, None] = {}
    for info in parsed_config.values():
        for input_tag in info.get("inputs", ()):
            for attribute in ("value", "valueList"):
                if input_tag.get(attribute):
                    keys[input_tag[attribute]] = None
    return list(keys)


def supported_formats(parsed_config: Mapping[str, Any]) -> list[str]:
    """The format names Label Studio's converter offers for this config, in its order."""
    supports_doclang = any(info.get("type") in {"TextArea", "ReactCode", "CustomInterface"} for info in parsed_config.values())
    if len(data_keys(parsed_config)) > 1:
        return ["JSON", "JSON_MIN", "CSV", "TSV"] + (["DOCLANG"] if supports_doclang else [])
    outputs: set[str] = set()
    inputs: set[str] = set()
    multi_image = False
    for info in parsed_config.values():
        outputs.add(info["type"])
        for input_tag in info.get("inputs", ()):
            if input_tag.get("valueList"):
                multi_image = True
            if input_tag["type"] == "Text" and input_tag.get("valueType") == "url":
                continue
            inputs.add(input_tag["type"])
    names = [name for name in _ENUM_ORDER if name != "DOCLANG" or supports_doclang]

    def drop(*formats: str) -> None:
        for name in formats:
            if name in names:
                names.remove(name)

    image = "Image" in inputs
    if "KeyPointLabels" in outputs and "RectangleLabels" not in outputs:
        drop("COCO", "COCO_WITH_IMAGES", "YOLO", "YOLO_WITH_IMAGES")
    if not ("Text" in inputs and "Labels" in outputs):
        drop("CONLL2003")
    if multi_image or not (image and ("RectangleLabels" in outputs or "Rectangle" in outputs and "Labels" in outputs)):
        drop("VOC")
    if multi_image or not (
        image and ("RectangleLabels" in outputs or "PolygonLabels" in outputs or "KeyPointLabels" in outputs)
        or "Rectangle" in outputs and "Labels" in outputs
        or "PolygonLabels" in outputs and "Labels" in outputs
        or "KeyPointLabels" in outputs and "Labels" in outputs
    ):
        drop(*_OBJECT_DETECTION)
    if not (image and ("BrushLabels" in outputs or "brushlabels" in outputs or "Brush" in outputs and "Labels" in outputs)):
        drop("BRUSH_TO_NUMPY", "BRUSH_TO_PNG", "BRUSH_TO_COCO")
    if not (("Audio" in inputs or "AudioPlus" in inputs) and "TextArea" in outputs):
        drop("ASR_MANIFEST")
    if multi_image or ("Video" in inputs and "TimelineLabels" in outputs):
        drop("YOLO_OBB", "YOLO_OBB_WITH_IMAGES")
    return names


# The converter's Format enum order (CSV_OLD is never offered by Label Studio's UI but is a member).
_ENUM_ORDER = (
    "JSON", "JSON_MIN", "CSV", "TSV", "CONLL2003", "COCO", "VOC", "BRUSH_TO_NUMPY", "BRUSH_TO_PNG", "ASR_MANIFEST",
    "YOLO", "YOLO_OBB", CSV_OLD, "YOLO_WITH_IMAGES", "COCO_WITH_IMAGES", "YOLO_OBB_WITH_IMAGES", "BRUSH_TO_COCO", "DOCLANG",
)


def format_list(parsed_config: Mapping[str, Any]) -> list[dict]:
    """GET /api/projects/{id}/export/formats: every format, the ones this config cannot use marked
    disabled and listed last (a stable sort, as Label Studio does)."""
    supported = set(supported_formats(parsed_config))
    formats = [dict(info) if info["name"] in supported else {**info, "disabled": True} for info in EXPORT_FORMAT_INFO]
    return sorted(formats, key=lambda info: info.get("disabled", False))


@use_case(policy.EXPORTS_VIEW)
def export_formats(ctx: Context, project_id: int) -> list[dict]:
    project = get_project(ctx, project_id)
    return format_list(lc.parsed_label_config(project.label_config))
