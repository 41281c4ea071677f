"""Label actions: cache_labels (labels into a task data column) and rename_labels (in annotations)."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.data_manager.actions.common import _CHUNK, ActionRun, _chunks, _in_project, _record, _select, _write_task_data
from core.errors import ValidationError
from core.events.catalog import ANNOTATIONS_UPDATED, TASKS_UPDATED
from core.label_config import parse_label_config_xml, parsed_label_config
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task

# ---------------------------------------------------------------- cache_labels


def _cache_labels_params(body: dict, *_: Any) -> dict:
    source = body.get("source", "annotations")
    if not isinstance(source, str) or source.lower() not in ("annotations", "predictions"):
        raise ValidationError({"source": ["Source must be annotations or predictions"]})
    control_tag = body.get("custom_control_tag") or body.get("control_tag")
    if control_tag is not None and not isinstance(control_tag, str):
        raise ValidationError({"control_tag": ["Not a valid string."]})
    with_counters = body.get("with_counters", "Yes")
    if not isinstance(with_counters, str):
        raise ValidationError({"with_counters": ["Must be Yes or No."]})
    return {
        "source": source.lower(),
        "control_tag": None if control_tag in (None, "ALL") else control_tag,
        "with_counters": with_counters.lower() == "yes",
    }


def _taxonomy_formats(label_config: str | None) -> dict[str, tuple[bool, str]]:
    """Taxonomy control name -> (show the full path, path separator), as the config says."""
    if not label_config:
        return {}
    formats = {}
    for element in parse_label_config_xml(label_config).iter("Taxonomy"):
        name = element.get("name")
        if name:
            formats[name] = (element.get("showFullPath", "false") != "false", element.get("pathSeparator", "/"))
    return formats


def _region_labels(result: Any, control_tag: str | None, taxonomies: dict[str, tuple[bool, str]]) -> list[str]:
    """Label Studio's extract_labels: the first list-valued field of each region's value."""
    labels: list[str] = []
    if not isinstance(result, list):
        return labels
    for region in result:
        if not isinstance(region, dict) or not isinstance(region.get("value"), dict):
            continue
        if control_tag is not None and region.get("from_name") != control_tag:
            continue
        for key, value in region["value"].items():
            if not value or not isinstance(value, list):
                continue
            if key == "taxonomy":
                # A taxonomy outside the config shows full paths joined by "/", as in Label Studio.
                full_path, separator = taxonomies.get(region.get("from_name"), (True, "/"))
                for path in value:
                    if isinstance(path, list) and path:
                        labels.append(separator.join(map(str, path)) if full_path else str(path[-1]))
            elif isinstance(value[0], str):
                labels.extend(item for item in value if isinstance(item, str))
            break
    return labels


def _cache_labels(run: ActionRun, ids: list[int]) -> Counter:
    """Write the labels of each task's annotations (or predictions) into a task data column,
    "cache_<tag>" / "cache_predictions_<tag>" (…_all for every control), one executemany per chunk."""
    source = Annotation if run.params["source"] == "annotations" else Prediction
    control_tag = run.params["control_tag"]
    column = ("cache" if source is Annotation else "cache_predictions") + (f"_{control_tag}" if control_tag else "_all")
    taxonomies = _taxonomy_formats(run.project.label_config)
    updated: list[int] = []
    for chunk in _chunks(ids):
        labels: dict[int, list[str]] = defaultdict(list)
        for task_id, result in run.session.execute(
            select(source.task_id, source.result).where(source.task_id.in_(chunk)).order_by(source.id)
        ):
            labels[task_id].extend(_region_labels(result, control_tag, taxonomies))
        rows = run.session.execute(select(Task.id, Task.data).where(*_in_project(run, chunk))).all()
        values = []
        for task_id, data in rows:
            task_labels = labels.get(task_id, [])
            if run.params["with_counters"]:
                counts = Counter(task_labels)
                text = ", ".join(sorted(f"{label}: {count}" for label, count in counts.items()))
            else:
                text = ", ".join(sorted(set(task_labels)))
            values.append({"task_id": task_id, "data": {**(data if isinstance(data, dict) else {}), column: text}})
        _write_task_data(run, values)
        updated += (value["task_id"] for value in values)
    _record(run, TASKS_UPDATED, updated)
    return Counter(tasks=len(updated))


# ---------------------------------------------------------------- rename_labels


def _rename_labels_params(body: dict, session: Session, project: Project) -> dict:
    control_tag = body.get("control_tag")
    old_name, new_name = body.get("old_label_name"), body.get("new_label_name")
    controls = parsed_label_config(project.label_config)
    if not isinstance(control_tag, str) or control_tag not in controls:
        raise ValidationError(f"Wrong old label name, it is not from labeling config: {old_name}")
    if not isinstance(old_name, str) or not isinstance(new_name, str):
        raise ValidationError({"old_label_name" if not isinstance(old_name, str) else "new_label_name": ["Not a valid string."]})
    return {"control_tag": control_tag, "label_type": controls[control_tag]["type"].lower(), "old": old_name, "new": new_name}


def _rename_labels(run: ActionRun, ids: list[int]) -> Counter:
    """Rename a label in every annotation of the project (Label Studio ignores the selection
    here). Annotations are read a chunk at a time; changed results are written with executemany."""
    control_tag, label_type = run.params["control_tag"], run.params["label_type"]
    old, new = run.params["old"], run.params["new"]
    labels, renamed_in = 0, []
    after_id = 0
    table = Annotation.__table__
    while True:
        rows = run.session.execute(
            select(Annotation.id, Annotation.result)
            .where(Annotation.project_id == run.project.id, Annotation.id > after_id)
            .order_by(Annotation.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        after_id = rows[-1][0]
        changed = []
        for annotation_id, result in rows:
            renamed = 0
            for region in result if isinstance(result, list) else []:
                value = region.get("value") if isinstance(region, dict) else None
                if region_labels := (value.get(label_type) if isinstance(value, dict) and region.get("from_name") == control_tag else None):
                    if isinstance(region_labels, list) and old in region_labels:
                        renamed += region_labels.count(old)
                        value[label_type] = [new if label == old else label for label in region_labels]
            if renamed:
                labels += renamed
                changed.append({"annotation_id": annotation_id, "result": result})
        if changed:
            run.session.execute(update(table).where(table.c.id == bindparam("annotation_id")).values(result=bindparam("result")), changed)
            renamed_in += (row["annotation_id"] for row in changed)
    _record(run, ANNOTATIONS_UPDATED, renamed_in)
    return Counter(labels=labels, annotations=len(renamed_in))


def _respond_renamed(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Updated {counts['labels']} labels in {counts['annotations']}"}


# ---------------------------------------------------------------- dialog forms


def _cache_labels_form(session: Session, project: Project) -> list[dict]:
    return [{"columnCount": 1, "fields": [
        _select("control_tag", "Choose a control tag", ["ALL", *parsed_label_config(project.label_config)]),
        {"type": "input", "name": "custom_control_tag", "label": "Custom control tag if it's not in label config"},
        _select("with_counters", "With counters", ["Yes", "No"]),
        _select("source", "Source", ["Annotations", "Predictions"]),
    ]}]


def _rename_labels_form(session: Session, project: Project) -> list[dict]:
    controls = parsed_label_config(project.label_config)
    old_names = sorted({label for control in controls.values() for label in control.get("labels", [])})
    return [{"columnCount": 1, "fields": [
        _select("control_tag", "Choose a label control tag", list(controls)),
        _select("old_label_name", "Old label name", old_names),
        {"type": "input", "name": "new_label_name", "label": "New label name"},
    ]}]
