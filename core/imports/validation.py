"""Checking imported items against the label config before the first write: Label Studio's
TaskValidator rules and messages, each error naming the item's index."""
from __future__ import annotations

from functools import reduce
from operator import getitem
from typing import Any

from core.errors import ValidationError

DATA_UNDEFINED_NAME = "$undefined$"
MAX_REPORTED_ERRORS = 100

# Python types Label Studio accepts in task data for each object tag (tasks/validation.py).
_DATA_TYPES: dict[str, tuple[type, ...]] = {
    "Text": (str, int, float, list),
    "Header": (str, int, float),
    "HyperText": (str,),
    "Image": (str, list),
    "Paragraphs": (list, str),
    "Chat": (list, str),
    "Table": (dict, list, str),
    "TimeSeries": (dict, list, str),
    "TimeSeriesChannel": (dict, list, str),
    "List": (list, str),
    "Choices": (str, list),
    "PolygonLabels": (str, list),
    "Labels": (str, list),
    "BrushLabels": (str, list),
    "EllipseLabels": (str, list),
    "HyperTextLabels": (str, list),
    "KeyPointLabels": (str, list),
    "ParagraphLabels": (str, list),
    "RectangleLabels": (str, list),
    "TimeSeriesLabels": (str, list),
    "Taxonomy": (str, list, type(None)),
    "Ranker": (list, str),
}


class TaskDataError(Exception):
    """One problem with one task (rendered with the item's index like Label Studio)."""


# ---------------------------------------------------------------- task data validation


def _type_names(types: tuple[type, ...]) -> str:
    return "[" + ", ".join(repr(t.__name__) for t in types) + "]"


def check_task_data(data: Any, data_types: dict[str, str]) -> None:
    """Raise TaskDataError unless `data` has every key the label config reads, of a usable type."""
    if data is None:
        raise TaskDataError("Task is empty (None)")
    if DATA_UNDEFINED_NAME in data and data_types:
        data[next(iter(data_types))] = data.pop(DATA_UNDEFINED_NAME)
    for data_key, data_type in data_types.items():
        is_array = "[" in data_key
        data_key = data_key.split("[")[0]
        try:
            item = reduce(getitem, data_key.split("."), data) if "." in data_key else data[data_key]
        except (KeyError, TypeError, IndexError):
            raise TaskDataError(f'"{data_key}" key is expected in task data')
        expected = (list,) if is_array else _DATA_TYPES.get(data_type, (str,))
        if not isinstance(item, expected):
            raise TaskDataError(
                f"data['{data_key}']={item} is of type '{type(item).__name__}', "
                f"but the object tag {data_type} expects the following types: {_type_names(expected)}"
            )


def _check_data_and_root(data: Any, data_types: dict[str, str], dict_is_root: bool) -> None:
    try:
        check_task_data(data, data_types)
    except TaskDataError as exc:
        suffix = " [assume: item as is = task root with values] " if dict_is_root else ' [assume: item["data"] = task root with values]'
        raise TaskDataError(f"{exc}{suffix}")


def _require_class(task: dict, key: str, types: tuple[type, ...]) -> None:
    if key in task and not isinstance(task[key], types):
        raise TaskDataError(f"Task[{key}] must be {' or '.join(t.__name__ for t in types)}")


def normalize_import_item(item: Any, data_types: dict[str, str]) -> dict:
    """One imported item -> {"data", "meta", "annotations", "predictions", "allow_skip"}.
    Items with a "data" key are tasks; any other dict is the data itself."""
    if not isinstance(item, dict):
        raise TaskDataError('Task root must be dict with "data", "meta", "annotations", "predictions" fields')
    if "data" not in item:
        _check_data_and_root(item, data_types, dict_is_root=True)
        return {"data": item, "meta": {}, "annotations": [], "predictions": [], "allow_skip": True}
    # Label Studio accepts a list here (legacy), but a task's data is always an object here.
    _require_class(item, "data", (dict,))
    _check_data_and_root(item["data"], data_types, dict_is_root=False)
    annotations_key = "annotations" if "annotations" in item or "completions" not in item else "completions"
    _require_class(item, annotations_key, (list,))
    annotations = item.get(annotations_key) or []
    for annotation in annotations:
        if not isinstance(annotation, dict):
            raise TaskDataError("Annotation must be dict")
        if "result" not in annotation:
            raise TaskDataError('Annotation must have "result" fields')
        if not isinstance(annotation["result"], list):
            raise TaskDataError('"result" field in annotation must be list')
    _require_class(item, "predictions", (list,))
    predictions = item.get("predictions") or []
    for prediction in predictions:
        if not isinstance(prediction, dict):
            raise TaskDataError("Prediction must be dict")
        if "result" not in prediction:
            raise TaskDataError('Prediction must have "result" fields')
    _require_class(item, "meta", (dict, list))
    allow_skip = item.get("allow_skip", True)
    if allow_skip is not None and not isinstance(allow_skip, bool):
        raise TaskDataError("Task[allow_skip] must be bool")
    return {
        "data": item["data"],
        "meta": item.get("meta") if item.get("meta") is not None else {},
        "annotations": annotations,
        "predictions": predictions,
        "allow_skip": True if allow_skip is None else allow_skip,
    }


def _item_error(index: int, message: str, item: Any) -> str:
    return f"Error at item {index}: {message} :: {item!r}"


def _plain_data_keys(data_types: dict[str, str]) -> list[tuple[str, frozenset[type]]] | None:
    """(key, accepted types) when the config reads only top-level keys; None otherwise."""
    if any("." in key or "[" in key for key in data_types):
        return None
    return [(key, frozenset(_DATA_TYPES.get(tag, (str,)))) for key, tag in data_types.items()]


_MISSING = object()


def validate_import_items(items: list, data_types: dict[str, str]) -> list[dict]:
    """Every item normalized, or ValidationError listing (up to 100) bad items by index."""
    tasks, errors = [], []
    plain_keys = _plain_data_keys(data_types)
    for index, item in enumerate(items):
        # Fast path for the common flat item {"text": ...} whose values have the exact types
        # the config accepts; anything else takes the full check below (same verdicts).
        if plain_keys is not None and type(item) is dict and "data" not in item and DATA_UNDEFINED_NAME not in item:
            for key, accepted in plain_keys:
                if type(item.get(key, _MISSING)) not in accepted:
                    break
            else:
                tasks.append({"data": item, "meta": {}, "annotations": (), "predictions": (), "allow_skip": True})
                continue
        try:
            tasks.append(normalize_import_item(item, data_types))
        except TaskDataError as exc:
            errors.append(_item_error(index, str(exc), item))
            if len(errors) >= MAX_REPORTED_ERRORS:
                errors[-1] = "..."
                break
    if errors:
        raise ValidationError({"non_field_errors": errors})
    return tasks
