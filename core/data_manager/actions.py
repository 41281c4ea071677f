"""Data Manager actions: the Community actions of Label Studio 1.23.2 over a task selection.

GET /api/dm/actions/ lists them as Label Studio does (hidden and experimental ones left out);
POST runs one over the tasks chosen by a view or by the body's filters + selectedItems.
A selection larger than `settings.dm_action_job_threshold` tasks runs as a "dm_action" job on
the workers (core.data_manager.jobs); the response then carries Label Studio's keys plus "job".

Every action works on a list of task ids with a constant number of statements per batch
(one DELETE/INSERT/UPDATE per table, executemany for row-wise values), so the request path and
the job share the code: `work` over a batch returns counts, `respond` turns the summed counts
into Label Studio's response.

The experimental actions (add_data_field, propagate_annotations, rename_labels, cache_labels)
are not listed, as in Label Studio without experimental features, but run on POST like there.
Left out: `next_task` (hidden; the labeling queue's own endpoint) and Label Studio's calls to ML
backends in `retrieve_tasks_predictions` (Labelgraph has no ML backends yet, so it answers as
Label Studio does for a project without one)."""
from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from sqlalchemy import bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from core.annotations.models import Annotation
from core.context import Context
from core.data_manager.models import View
from core.data_manager.selection import resolve_selection
from core.data_manager.views import get_view
from core.errors import DomainError, NotFound, ValidationError
from core.jobs.service import start_job
from core.label_config import data_types as config_data_types
from core.label_config import parse_label_config_xml, parsed_label_config
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task
from core.tasks.queries import get_org_project
from core.timeutil import utcnow
from core.users.models import User

JOB_KIND = "dm_action"
DATA_UNDEFINED_NAME = "$undefined$"
_CHUNK = 5000


class ActionIdMissing(DomainError):
    """Label Studio answers a POST without ?id= with 422."""

    status_code = 422


@dataclass
class ActionRun:
    """What an action needs while it runs (in the request or in a worker)."""

    session: Session
    project: Project
    user_id: int
    params: dict[str, Any]


Work = Callable[[ActionRun, list[int]], Counter]
Respond = Callable[[ActionRun, Counter], dict]


@dataclass(frozen=True)
class Action:
    id: str
    title: str
    order: int
    permission: str | list[str]
    dialog: dict[str, Any]
    work: Work
    respond: Respond
    # Reads and checks the action's own body fields (may look at the project) before any write.
    read_params: Callable[[dict, Session, Project], dict] = lambda body, session, project: {}
    # Listed keys Label Studio shows only for some actions.
    experimental: bool | None = None
    reload: bool | None = None
    # Builds the dialog's form fields on demand (GET /api/dm/actions/{id}/form/).
    form: Callable[[Session, Project], list] | None = None
    # Its response counts `processed_items` (a queued job reports 0 of them so far).
    reports_processed_items: bool = False
    # False when the action must see the whole selection at once (duplicates across batches).
    batchable: bool = True
    # Label Studio keeps the selection's ordering only for these (the order decides what is kept).
    uses_ordering: bool = False

    def listing(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "title": self.title, "order": self.order, "permission": self.permission}
        if self.experimental is not None:
            item["experimental"] = self.experimental
        if self.reload is not None:
            item["reload"] = self.reload
        item["dialog"] = dict(self.dialog)
        return item


# ---------------------------------------------------------------- helpers


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _in_project(run: ActionRun, ids: list[int]):
    return Task.id.in_(ids), Task.project_id == run.project.id


# ---------------------------------------------------------------- delete_tasks


def _delete_tasks(run: ActionRun, ids: list[int]) -> Counter:
    """One DELETE per chunk; annotations, predictions and every other row of a task go with it
    through ON DELETE CASCADE."""
    deleted = 0
    for chunk in _chunks(ids):
        deleted += run.session.execute(
            delete(Task).where(*_in_project(run, chunk)), execution_options={"synchronize_session": False}
        ).rowcount
    return Counter(tasks=deleted)


def _finish_task_deletion(run: ActionRun) -> bool:
    """Label Studio drops the project's tabs once it has no tasks left and asks the frontend to
    reload; returns that reload flag."""
    if run.session.scalar(select(exists().where(Task.project_id == run.project.id))):
        return False
    run.session.execute(delete(View).where(View.project_id == run.project.id), execution_options={"synchronize_session": False})
    return True


def _respond_delete_tasks(run: ActionRun, counts: Counter) -> dict:
    reload = _finish_task_deletion(run)
    return {"processed_items": counts["tasks"], "reload": reload, "detail": f"Deleted {counts['tasks']} tasks"}


# ---------------------------------------------------------------- delete_tasks_annotations


def _annotator_param(body: dict, *_: Any) -> dict:
    annotator = body.get("annotator")
    if annotator in (None, ""):
        return {"annotator": None}
    try:
        if isinstance(annotator, bool):
            raise ValueError
        return {"annotator": int(annotator)}
    except (TypeError, ValueError):
        raise ValidationError({"annotator": ["A valid integer is required."]})


def _delete_annotations(run: ActionRun, ids: list[int]) -> Counter:
    deleted, touched = 0, set()
    annotator = run.params.get("annotator")
    for chunk in _chunks(ids):
        conditions = [Annotation.task_id.in_(chunk), Annotation.project_id == run.project.id]
        if annotator is not None:
            conditions.append(Annotation.completed_by_id == annotator)
        touched.update(run.session.scalars(select(Annotation.task_id).where(*conditions).distinct()))
        deleted += run.session.execute(delete(Annotation).where(*conditions), execution_options={"synchronize_session": False}).rowcount
    # Label Studio marks the tasks that lost annotations updated by the caller.
    refresh_task_counters(run.session, touched, touched_by=run.user_id)
    return Counter(annotations=deleted)


def _respond_deleted_annotations(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["annotations"], "detail": f"Deleted {counts['annotations']} annotations"}


# ---------------------------------------------------------------- delete_tasks_predictions


def _delete_predictions(run: ActionRun, ids: list[int]) -> Counter:
    deleted, touched = 0, set()
    for chunk in _chunks(ids):
        conditions = [Prediction.task_id.in_(chunk), Prediction.project_id == run.project.id]
        touched.update(run.session.scalars(select(Prediction.task_id).where(*conditions).distinct()))
        deleted += run.session.execute(delete(Prediction).where(*conditions), execution_options={"synchronize_session": False}).rowcount
    refresh_task_counters(run.session, touched)
    return Counter(predictions=deleted)


def _respond_deleted_predictions(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["predictions"], "detail": f"Deleted {counts['predictions']} predictions"}


# ---------------------------------------------------------------- predictions_to_annotations


def _model_version_param(body: dict, *_: Any) -> dict:
    version = body.get("model_version")
    if version is None:
        return {"model_version": None}
    if isinstance(version, list):
        if not all(isinstance(item, str) for item in version):
            raise ValidationError({"model_version": ["Each model version must be a string."]})
        return {"model_version": version}
    if isinstance(version, (dict, bool)):
        raise ValidationError({"model_version": ["Not a valid string."]})
    return {"model_version": str(version)}


def _insert_annotations_by_caller(run: ActionRun, rows: list[dict]) -> None:
    """Annotations by the acting user in the action's project, one executemany; each row names
    its task_id, result and parent (prediction or annotation)."""
    now = utcnow()
    common = {
        "project_id": run.project.id, "completed_by_id": run.user_id, "was_cancelled": False,
        "ground_truth": False, "bulk_created": False, "created_at": now, "updated_at": now,
        "parent_prediction_id": None, "parent_annotation_id": None,
    }
    run.session.execute(Annotation.__table__.insert(), [{**common, **row, "unique_id": str(uuid.uuid4())} for row in rows])


def _predictions_to_annotations(run: ActionRun, ids: list[int]) -> Counter:
    """An annotation by the caller from every prediction of the tasks that no annotation was
    made from yet (so running it twice creates nothing new), in one executemany per chunk."""
    version = run.params.get("model_version")
    created, touched = 0, set()
    already_converted = exists().where(Annotation.parent_prediction_id == Prediction.id)
    for chunk in _chunks(ids):
        query = select(Prediction.id, Prediction.task_id, Prediction.result).where(
            Prediction.task_id.in_(chunk), Prediction.project_id == run.project.id, ~already_converted
        )
        if isinstance(version, list):
            query = query.where(Prediction.model_version.in_(version))
        elif version is not None:
            query = query.where(Prediction.model_version == version)
        predictions = run.session.execute(query.order_by(Prediction.id)).all()
        if not predictions:
            continue
        _insert_annotations_by_caller(run, [
            {"task_id": task_id, "result": result, "parent_prediction_id": prediction_id}
            for prediction_id, task_id, result in predictions
        ])
        created += len(predictions)
        touched.update(task_id for _, task_id, _ in predictions)
    refresh_task_counters(run.session, touched, touched_by=run.user_id)
    return Counter(annotations=created)


def _respond_created_annotations(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Created {counts['annotations']} annotations"}


# ---------------------------------------------------------------- remove_duplicates


def _duplicate_key(data: Any, first_data_key: str | None) -> bytes:
    # Label Studio compares task data after giving "$undefined$" the config's data key.
    if isinstance(data, dict) and first_data_key and DATA_UNDEFINED_NAME in data:
        data = {**data}
        data[first_data_key] = data.pop(DATA_UNDEFINED_NAME)
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _remove_duplicates(run: ActionRun, ids: list[int]) -> Counter:
    """Tasks of the selection with equal data form a group; of each group Label Studio keeps
    the first task (in the selection's order) that has annotations, moves the annotations of
    the others onto it, and deletes the rest; a group without annotations keeps its first task."""
    first_data_key = next(iter(config_data_types(run.project.label_config)), None)
    position = {task_id: index for index, task_id in enumerate(ids)}
    groups: dict[bytes, list[tuple[int, bool]]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = run.session.execute(
            select(Task.id, Task.data, Task.total_annotations + Task.cancelled_annotations).where(*_in_project(run, chunk))
        ).all()
        for task_id, data, annotation_count in sorted(rows, key=lambda row: position[row[0]]):
            groups[_duplicate_key(data, first_data_key)].append((task_id, annotation_count > 0))
    moves: list[dict[str, int]] = []
    removing: list[int] = []
    keepers: list[int] = []
    for tasks in groups.values():
        if len(tasks) < 2:
            continue
        annotated = [task_id for task_id, has_annotations in tasks if has_annotations]
        keeper = annotated[0] if annotated else tasks[0][0]
        keepers.append(keeper)
        moves.extend({"from_task": task_id, "to_task": keeper} for task_id in annotated[1:])
        removing.extend(task_id for task_id, _ in tasks if task_id != keeper)
    moved = 0
    if moves:
        moved = run.session.execute(
            update(Annotation.__table__).where(Annotation.__table__.c.task_id == bindparam("from_task")).values(task_id=bindparam("to_task")),
            moves,
        ).rowcount
    counts = _delete_tasks(run, removing)
    refresh_task_counters(run.session, keepers)
    return Counter(removed=counts["tasks"], moved_annotations=max(moved, 0))


def _respond_nothing(run: ActionRun, counts: Counter) -> dict:
    # Label Studio runs these as a background job of its own and answers with an empty object.
    return {}


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
    updated = 0
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
        updated += len(values)
    return Counter(tasks=updated)


# ---------------------------------------------------------------- retrieve_tasks_predictions


def _retrieve_predictions(run: ActionRun, ids: list[int]) -> Counter:
    # No ML backend can be connected in Labelgraph yet: nothing to ask, as in Label Studio
    # for a project without one.
    return Counter(tasks=len(ids))


def _respond_retrieved(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["tasks"], "detail": f"Retrieved {counts['tasks']} predictions"}


# ---------------------------------------------------------------- experimental actions
# Hidden from the list (Label Studio shows them only with experimental features on) but run on
# POST, as in Label Studio.


def _write_task_data(run: ActionRun, values: list[dict]) -> None:
    """New `data` for tasks, one executemany: [{"task_id", "data"}]."""
    if values:
        table = Task.__table__
        run.session.execute(update(table).where(table.c.id == bindparam("task_id")).values(data=bindparam("data")), values)


def _source_annotation_param(body: dict, session: Session, project: Project) -> dict:
    raw = body.get("source_annotation_id")
    try:
        annotation_id = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        annotation_id = None
    source = None
    if annotation_id is not None and 0 < annotation_id <= 2**31 - 1:
        source = session.execute(
            select(Annotation.id, Annotation.task_id, Annotation.result).where(Annotation.id == annotation_id, Annotation.project_id == project.id)
        ).one_or_none()
    if source is None:
        message = f"Source annotation {raw} not found in the current project"
        raise ValidationError({"source_annotation_id": [message]}, detail=message)
    return {"source_annotation_id": source.id, "source_task_id": source.task_id, "result": source.result}


def _propagate_annotations(run: ActionRun, ids: list[int]) -> Counter:
    """A copy of the source annotation, by the caller, on every selected task but its own."""
    created, touched = 0, []
    source_task = run.params["source_task_id"]
    for chunk in _chunks(ids):
        task_ids = run.session.scalars(select(Task.id).where(*_in_project(run, chunk), Task.id != source_task)).all()
        if not task_ids:
            continue
        _insert_annotations_by_caller(run, [
            {"task_id": task_id, "result": run.params["result"], "parent_annotation_id": run.params["source_annotation_id"]}
            for task_id in task_ids
        ])
        created += len(task_ids)
        touched.extend(task_ids)
    refresh_task_counters(run.session, touched)
    return Counter(annotations=created)


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
    labels = annotations = 0
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
            annotations += len(changed)
    return Counter(labels=labels, annotations=annotations)


def _respond_renamed(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Updated {counts['labels']} labels in {counts['annotations']}"}


ADD_DATA_FIELD_EXAMPLES = (
    "range(2) or sample() or random(<min_int>, <max_int>) or "
    'choices(["<value1>", "<value2>", ...], [<weight1>, <weight2>, ...]) or replace("old-string", "new-string")'
)
_EXPRESSION_ARITY = {"range": (1, 1), "sample": (0, 0), "random": (2, 2), "choices": (1, 2), "replace": (2, 2)}


def _expression_args(text: str) -> list[str]:
    """Arguments of `command(a, [b, c], ...)`: commas inside [...] do not split, single quotes
    become double quotes (Label Studio's simple parsing)."""
    args, depth, current = [], 0, []
    for char in text.replace(")", ""):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth <= 0:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    if len(args) == 1 and args[0] == "":
        return []
    return [arg.replace("'", '"') for arg in args]


def _add_data_field_params(body: dict, *_: Any) -> dict:
    name, value_type, value = body.get("value_name"), body.get("value_type"), body.get("value")
    if not isinstance(name, str) or not name:
        raise ValidationError({"value_name": ["This field is required."]})
    if value_type not in ("String", "Number", "Expression"):
        raise ValidationError({"value_type": ["Must be one of String, Number, Expression."]})
    if value_type == "Number":
        try:
            return {"name": name, "type": value_type, "value": float(value)}
        except (TypeError, ValueError):
            raise ValidationError({"value": ["A valid number is required."]})
    if value is None or isinstance(value, (dict, list)):
        raise ValidationError({"value": ["Not a valid string."]})
    value = str(value)
    if value_type == "String":
        return {"name": name, "type": value_type, "value": value}
    command, _, rest = value.partition("(")
    arity = _EXPRESSION_ARITY.get(command)
    if arity is None or "(" in rest:
        raise ValidationError(f"Undefined expression, you can use: {ADD_DATA_FIELD_EXAMPLES}")
    args = _expression_args(rest)
    if not arity[0] <= len(args) <= arity[1]:
        raise ValidationError({"value": [f"{command}() takes {arity[0]}..{arity[1]} arguments: {ADD_DATA_FIELD_EXAMPLES}"]})
    try:
        parsed = [int(arg) for arg in args] if command in ("range", "random") else [orjson.loads(arg) for arg in args]
    except (ValueError, orjson.JSONDecodeError):
        raise ValidationError({"value": [f"Bad arguments for {command}(): {ADD_DATA_FIELD_EXAMPLES}"]})
    if command == "choices" and (not isinstance(parsed[0], list) or not parsed[0]
                                 or (len(parsed) == 2 and (not isinstance(parsed[1], list) or len(parsed[1]) != len(parsed[0])))):
        raise ValidationError({"value": ["choices(values:list, weights:list) needs a non-empty list of values and as many weights."]})
    if command == "random" and parsed[0] > parsed[1]:
        raise ValidationError({"value": ["random(min, max) needs min <= max."]})
    if command == "replace" and not all(isinstance(arg, str) for arg in parsed):
        raise ValidationError({"value": ['replace("old", "new") takes two strings.']})
    return {"name": name, "type": value_type, "command": command, "args": parsed}


def _expression_values(params: dict, size: int) -> list[Any] | None:
    """One new value per task, in selection order (None for replace, which edits values)."""
    command, args = params["command"], params["args"]
    if command == "range":
        return list(range(args[0], args[0] + size))
    if command == "sample":
        return random.sample(range(size), size)
    if command == "random":
        return [random.randint(args[0], args[1]) for _ in range(size)]
    if command == "choices":
        return random.choices(args[0], weights=args[1] if len(args) == 2 else None, k=size)
    return None


def _add_data_field(run: ActionRun, ids: list[int]) -> Counter:
    """Set `data[value_name]` of the selected tasks: a constant, or values drawn by an
    expression over the whole selection (so this action is not split into batches)."""
    params = run.params
    name = params["name"]
    generated = _expression_values(params, len(ids)) if params["type"] == "Expression" else None
    position = {task_id: index for index, task_id in enumerate(ids)}
    for chunk in _chunks(ids):
        rows = run.session.execute(select(Task.id, Task.data).where(*_in_project(run, chunk))).all()
        values = []
        for task_id, data in rows:
            data = dict(data) if isinstance(data, dict) else {}
            if params["type"] != "Expression":
                data[name] = params["value"]
            elif generated is not None:
                data[name] = generated[position[task_id]]
            elif isinstance(data.get(name), str):
                data[name] = data[name].replace(*params["args"])
            else:
                continue
            values.append({"task_id": task_id, "data": data})
        _write_task_data(run, values)
    return Counter(tasks=len(ids))


def _respond_updated_tasks(run: ActionRun, counts: Counter) -> dict:
    return {"detail": f"Updated {counts['tasks']} tasks"}


# ---------------------------------------------------------------- dialog forms
# GET /api/dm/actions/{id}/form/: the fields of an action's dialog (listed as "form": null).


def _select(name: str, label: str, options: list, **extra) -> dict:
    return {"type": "select", "name": name, "label": label, "options": options, **extra}


def _annotators_form(session: Session, project: Project) -> list[dict]:
    authors = select(Annotation.completed_by_id).where(Annotation.project_id == project.id)
    users = session.execute(select(User.id, User.first_name, User.last_name, User.username, User.email)
                            .where(User.id.in_(authors)).order_by(User.id)).all()
    options = [{"value": str(user.id), "label": f"{user.first_name} {user.last_name}".strip() or user.username or user.email}
               for user in users]
    return [{"columnCount": 1, "fields": [_select("annotator", "Annotator", options, placeholder="All", searchable=True)]}]


def _model_versions_form(session: Session, project: Project) -> list[dict]:
    versions = list(session.scalars(
        select(Prediction.model_version).where(Prediction.project_id == project.id).group_by(Prediction.model_version).order_by(Prediction.model_version)
    ))
    first = project.model_version
    if first:
        # The project's current model version comes first.
        versions = [first, *(version for version in versions if version != first)]
    return [{"columnCount": 1, "fields": [_select("model_version", "Choose predictions", versions, value=first)]}]


def _cache_labels_form(session: Session, project: Project) -> list[dict]:
    return [{"columnCount": 1, "fields": [
        _select("control_tag", "Choose a control tag", ["ALL", *parsed_label_config(project.label_config)]),
        {"type": "input", "name": "custom_control_tag", "label": "Custom control tag if it's not in label config"},
        _select("with_counters", "With counters", ["Yes", "No"]),
        _select("source", "Source", ["Annotations", "Predictions"]),
    ]}]


def _add_data_field_form(session: Session, project: Project) -> list[dict]:
    return [{"columnCount": 1, "fields": [
        {"type": "input", "name": "value_name", "label": "Name"},
        _select("value_type", "Type", ["String", "Number", "Expression"]),
        {"type": "input", "name": "value", "label": "Value"},
    ]}]


def _propagate_form(session: Session, project: Project) -> list[dict]:
    first_id = session.scalar(select(func.min(Annotation.id)).where(Annotation.project_id == project.id))
    label = "Enter source annotation ID" + (f" [first ID: {first_id}]" if first_id is not None else "")
    return [{"columnCount": 1, "fields": [{"type": "number", "name": "source_annotation_id", "label": label}]}]


def _rename_labels_form(session: Session, project: Project) -> list[dict]:
    controls = parsed_label_config(project.label_config)
    old_names = sorted({label for control in controls.values() for label in control.get("labels", [])})
    return [{"columnCount": 1, "fields": [
        _select("control_tag", "Choose a label control tag", list(controls)),
        _select("old_label_name", "Old label name", old_names),
        {"type": "input", "name": "new_label_name", "label": "New label name"},
    ]}]


# ---------------------------------------------------------------- registry

_CONFIRM = "confirm"

ACTIONS: dict[str, Action] = {
    action.id: action
    for action in (
        Action(
            id="add_data_field",
            form=_add_data_field_form,
            title="Add Or Modify Data Field",
            order=1,
            permission="projects.change",
            experimental=True,
            dialog={
                "text": "Confirm that you want to add a new field in tasks. "
                "After this operation you must refresh the Data Manager page fully to see the new column! "
                "You can use the following expressions: " + ADD_DATA_FIELD_EXAMPLES,
                "type": _CONFIRM,
                "form": None,
            },
            work=_add_data_field,
            respond=_respond_updated_tasks,
            read_params=_add_data_field_params,
            batchable=False,
        ),
        Action(
            id="propagate_annotations",
            form=_propagate_form,
            title="Propagate Annotations",
            order=1,
            permission="tasks.change",
            experimental=True,
            dialog={
                "text": "Confirm that you want to copy the source annotation to all selected tasks. "
                "Note: this action can be applied only for similar source objects: "
                "images with the same width and height, "
                "texts with the same length, "
                "audios with the same durations.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_propagate_annotations,
            respond=_respond_created_annotations,
            read_params=_source_annotation_param,
        ),
        Action(
            id="rename_labels",
            form=_rename_labels_form,
            title="Rename Labels",
            order=1,
            permission="tasks.change",
            experimental=True,
            dialog={
                "text": "Confirm that you want to rename a label in all annotations. "
                "Also you have to change label names in the labeling config manually.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_rename_labels,
            respond=_respond_renamed,
            read_params=_rename_labels_params,
            batchable=False,
        ),
        Action(
            id="cache_labels",
            form=_cache_labels_form,
            title="Cache Labels",
            order=1,
            permission="projects.change",
            experimental=True,
            dialog={
                "text": "Confirm that you want to add a new task.data field with cached labels from annotations. "
                "This field will help you to quickly filter or order tasks by labels. "
                "After this operation you must refresh the Data Manager page fully to see the new column!",
                "type": _CONFIRM,
                "form": None,
            },
            work=_cache_labels,
            respond=_respond_nothing,
            read_params=_cache_labels_params,
        ),
        Action(
            id="retrieve_tasks_predictions",
            title="Retrieve Predictions",
            order=90,
            permission="predictions.any",
            dialog={
                "title": "Retrieve Predictions",
                "text": "Send the selected tasks to all ML backends connected to the project."
                "This operation might be abruptly interrupted due to a timeout. "
                "The recommended way to get predictions is to update tasks using the Label Studio API."
                "Please confirm your action.",
                "type": _CONFIRM,
            },
            work=_retrieve_predictions,
            respond=_respond_retrieved,
            reports_processed_items=True,
        ),
        Action(
            id="predictions_to_annotations",
            form=_model_versions_form,
            title="Create Annotations From Predictions",
            order=91,
            permission="tasks.change",
            dialog={
                "title": "Create Annotations From Predictions",
                "text": "Create annotations from predictions using selected predictions set for each selected task. "
                "Your account will be assigned as an owner to those annotations. ",
                "type": _CONFIRM,
                "form": None,
            },
            work=_predictions_to_annotations,
            respond=_respond_created_annotations,
            read_params=_model_version_param,
        ),
        Action(
            id="remove_duplicates",
            title="Remove Duplicated Tasks",
            order=95,
            permission=["projects.change", "tasks.delete"],
            experimental=False,
            dialog={
                "text": "Confirm that you want to remove duplicated tasks with the same data fields. "
                "Duplicated tasks will be deleted and all annotations will be moved to the first task from duplicated tasks. "
                "Also Source Storage Links will be restored if at least one duplicated task has a storage link. "
                "Warning: Task assignments (enterprise only) won't be saved.",
                "type": _CONFIRM,
            },
            work=_remove_duplicates,
            respond=_respond_nothing,
            batchable=False,
            uses_ordering=True,
        ),
        Action(
            id="delete_tasks",
            title="Delete Tasks",
            order=100,
            permission="tasks.delete",
            reload=True,
            dialog={"text": "You are going to delete the selected tasks. Please confirm your action.", "type": _CONFIRM},
            work=_delete_tasks,
            respond=_respond_delete_tasks,
            reports_processed_items=True,
        ),
        Action(
            id="delete_tasks_annotations",
            form=_annotators_form,
            title="Delete Annotations",
            order=101,
            permission=["tasks.change", "annotations.delete"],
            dialog={
                "text": "You are going to delete annotations from the selected tasks.\n"
                "You can select specific annotators to delete annotations for.\n"
                "Please confirm your action.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_delete_annotations,
            respond=_respond_deleted_annotations,
            reports_processed_items=True,
            read_params=_annotator_param,
        ),
        Action(
            id="delete_tasks_predictions",
            title="Delete Predictions",
            order=102,
            permission="predictions.any",
            dialog={
                "text": "You are going to delete all predictions from the selected tasks. Please confirm your action.",
                "type": _CONFIRM,
            },
            work=_delete_predictions,
            respond=_respond_deleted_predictions,
            reports_processed_items=True,
        ),
    )
}


def list_actions(ctx: Context, project_id: Any) -> list[dict]:
    """GET /api/dm/actions/?project=: the actions a member sees, by order (experimental ones,
    which Label Studio hides unless experimental features are on, are left out)."""
    _project(ctx, project_id)
    return [action.listing() for action in sorted(ACTIONS.values(), key=lambda a: a.order) if not action.experimental]


def action_form(ctx: Context, action_id: str, project_id: Any) -> list:
    """GET /api/dm/actions/{id}/form/?project=: the dialog's form fields ([] for a plain confirm)."""
    project = _project(ctx, project_id)
    action = ACTIONS.get(action_id)
    if action is None:
        raise NotFound(f"Can't find '{action_id}' in registered actions")
    return action.form(ctx.session, project) if action.form is not None else []


def _project(ctx: Context, raw: Any) -> Project:
    try:
        project_id = int(raw)
    except (TypeError, ValueError):
        raise NotFound()
    return get_org_project(ctx, project_id)


# ---------------------------------------------------------------- perform


@dataclass
class ActionOutcome:
    """Label Studio's response; `job_id` when the action was handed to the workers."""

    response: dict[str, Any]
    job_id: int | None = None


def _selected_items(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict):
            raise ValidationError({"selectedItems": [
                'selectedItems must be JSON encoded string for dict: {"all": [true|false], "excluded | included": [...task_ids...]}.'
            ]})
    if not isinstance(raw, dict):
        raise ValidationError({"selectedItems": [
            'selectedItems must be dict: {"all": [true|false], "excluded | included": [...task_ids...]}.'
        ]})
    return raw


def _selection_params(ctx: Context, project: Project, body: dict, view_id: Any) -> tuple[Any, Any, Any]:
    """(filters, ordering, selectedItems) from the view when one is named (it wins over the
    body, as in Label Studio), else from the body."""
    if view_id not in (None, "", 0, "0"):
        try:
            view = get_view(ctx, int(view_id))
        except (TypeError, ValueError):
            raise NotFound()
        if view.project_id != project.id:
            raise ValidationError({"view": ["Project and View mismatch"]}, detail="Project and View mismatch")
        return view.filters, view.ordering or [], view.selected_items
    selected = _selected_items(body.get("selectedItems", {"all": True, "excluded": []}))
    ordering = body.get("ordering") or []
    return body.get("filters"), ordering, selected


def perform_action(ctx: Context, action_id: str | None, project_id: Any, body: Any, view_id: Any = None) -> ActionOutcome:
    """POST /api/dm/actions/?id=&project=[&view=]. Everything is validated before the first
    write; a selection above the job threshold becomes a "dm_action" job."""
    user = ctx.require_user()
    project = _project(ctx, project_id)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]})
    if action_id in (None, ""):
        raise ActionIdMissing(f'No action id "{action_id}", use ?id=<action-id>')
    action = ACTIONS.get(action_id)
    if action is None:
        raise ValidationError({"id": [f"Can't find '{action_id}' in registered actions"]}, detail=f"Can't find '{action_id}' in registered actions")
    params = action.read_params(body, ctx.session, project)
    if view_id in (None, ""):
        view_id = body.get("view")
    filters, ordering, selected = _selection_params(ctx, project, body, view_id)
    if not action.uses_ordering:
        ordering = []
    selection = resolve_selection(ctx, project.id, filters, ordering, selected)
    threshold = ctx.settings.dm_action_job_threshold
    ids = list(ctx.session.scalars(selection.limit(threshold + 1)))
    if len(ids) > threshold:
        job = start_job(
            ctx,
            JOB_KIND,
            {"action": action.id, "params": params, "filters": filters, "ordering": ordering, "selectedItems": selected},
            project_id=project.id,
        )
        return ActionOutcome(queued_response(action, job.id), job_id=job.id)
    run = ActionRun(ctx.session, project, user.id, params)
    return ActionOutcome(action.respond(run, action.work(run, ids)))


def queued_response(action: Action, job_id: int) -> dict[str, Any]:
    """Label Studio's keys for an action handed to the workers (nothing processed yet) plus the
    job, whose result will hold the response the action would have given in the request."""
    response: dict[str, Any] = {}
    if action.reports_processed_items:
        response["processed_items"] = 0
    if action.reload:
        response["reload"] = True
    response["detail"] = f"{action.title}: running in the background as job {job_id}"
    response["job"] = job_id
    return response
