"""JSON_MIN records, as label_studio_sdk.converter (Converter.convert_to_json_min) makes them from
Label Studio's JSON export: one flat record per task and submitted annotation, with each control's
answer under its name."""
from __future__ import annotations

import re
from collections import defaultdict
from copy import deepcopy
from typing import Any, Iterator, Mapping


class ControlMatcher:
    """Finds the labeling-config control a result's from_name belongs to (Repeater names included)."""

    def __init__(self, parsed_config: Mapping[str, Any], keep_region_ids: bool = False):
        self.schema = parsed_config
        # YOLO with keypoints links each keypoint to its rectangle by region id / parentID.
        self.keep_region_ids = keep_region_ids
        self._patterns = []
        for name, info in parsed_config.items():
            if info.get("regex"):
                pattern = name
                for variable, regex in info["regex"].items():
                    pattern = pattern.replace(variable, regex)
                self._patterns.append((name, pattern, re.compile(pattern)))
        self._cache: dict[str, str | None] = {}

    def control_for(self, from_name: str) -> str | None:
        if from_name in self.schema:
            return from_name
        if from_name not in self._cache:
            best, best_length = None, 0
            for name, pattern, compiled in self._patterns:
                # The converter matches prefixes and keeps the longest pattern that matches.
                if compiled.match(from_name) and len(pattern) > best_length:
                    best, best_length = name, len(pattern)
            self._cache[from_name] = best
        return self._cache[from_name]


def _outputs(result: Any, matcher: ControlMatcher) -> dict[str, list[dict]]:
    # Results are parsed afresh for each annotation and never shared, so a shallow copy of each
    # value is enough to add "type" (and sizes) without touching the region.
    outputs: dict[str, list[dict]] = defaultdict(list)
    for region in result or []:
        if not isinstance(region, dict):
            continue
        from_name = region.get("from_name")
        control = matcher.control_for(from_name) if isinstance(from_name, str) else None
        keeps_size = True
        if from_name and control:
            value = dict(region.get("value") or {})
            value["type"] = matcher.schema[control]["type"]
            if matcher.keep_region_ids:
                value["id"], value["parentID"] = region.get("id"), region.get("parentID")
        elif from_name and region.get("type") == "chatmessage":
            value = dict(region.get("value") or {})
            value["type"] = "chatmessage"
            keeps_size = False
        elif from_name and not matcher.schema:
            # Configs without controls (custom interfaces) keep every region.
            value = dict(region.get("value") or {})
            value["type"] = region.get("type") or "unknown"
        else:
            continue
        if keeps_size:
            for key in ("original_width", "original_height"):
                if key in region:
                    value[key] = region[key]
        outputs[from_name].append(value)
    return outputs


def prettify(values: list[dict]) -> Any:
    """One Choices/TextArea answer becomes its plain value; anything else stays a list of regions."""
    out = []
    tag_type = None
    for item in values:
        item = dict(item)
        tag_type = item.pop("type")
        if tag_type == "Choices" and len(item.get("choices") or []) == 1:
            out.append(item["choices"][0])
        elif tag_type == "TextArea" and len(item.get("text") or []) == 1:
            out.append(item["text"][0])
        elif tag_type in ("Chat", "chatmessage"):
            out.append(item.get("chatmessage", item))
        else:
            out.append(item)
    return out[0] if tag_type in ("Choices", "TextArea") and len(out) == 1 else out


def annotator_id(completed_by: Any) -> Any:
    """The converter's get_annotator(int_id=True): ids stay ints, anything else becomes a string."""
    return completed_by if isinstance(completed_by, int) else str(completed_by)


def task_items(task_id: int, data: Any, annotations: list[dict], matcher: ControlMatcher) -> Iterator[dict]:
    """The converter's items of one task (Converter.annotation_result_from_task): the task alone when it
    has no annotation, else one per submitted annotation, newest first; nothing when all were skipped.
    `annotations` carry id, completed_by, result, was_cancelled, created_at/updated_at (rendered as
    strings) and lead_time, in export order."""
    data = data if isinstance(data, dict) else {}
    if not annotations:
        yield {"id": task_id, "input": data, "output": {}, "completed_by": {}, "annotation_id": None,
               "created_at": None, "updated_at": None, "lead_time": None}
        return
    submitted = [a for a in annotations if not a["was_cancelled"]]
    submitted.sort(key=lambda a: a["created_at"] or "", reverse=True)
    for annotation in submitted:
        yield {
            "id": task_id,
            "input": data,
            "output": _outputs(annotation["result"], matcher),
            "completed_by": annotation["completed_by"],
            "annotation_id": annotation["id"],
            "created_at": annotation["created_at"],
            "updated_at": annotation["updated_at"],
            "lead_time": annotation["lead_time"],
        }


def json_min_record(item: dict) -> dict:
    record = deepcopy(item["input"])
    record["id"] = item["id"]
    for name, values in item["output"].items():
        record[name] = prettify(values)
    completed_by = item["completed_by"]
    record["annotator"] = completed_by.get("email") if isinstance(completed_by, dict) else annotator_id(completed_by)
    record["annotation_id"] = item["annotation_id"]
    record["created_at"] = item["created_at"]
    record["updated_at"] = item["updated_at"]
    record["lead_time"] = item["lead_time"]
    return record
