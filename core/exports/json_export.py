"""Streaming JSON / JSON_MIN (and CSV / TSV) export of a project's tasks, in Label Studio 1.23.2's shape
(data_export ExportDataSerializer: annotations in full, predictions and drafts as ids).

Tasks are read in keyset batches (by id); each batch loads its annotations and predictions with one
query per relation. For JSON the database renders each task's plain fields as JSON text (see
sql_json) and results are embedded unparsed (orjson.Fragment), so task data is never decoded."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

import orjson
from sqlalchemy import Text, and_, cast, exists, or_, select
from sqlalchemy.orm import Session

from core import label_config as lc
from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.config import Settings
from core.context import Context
from core.exports.convert import check_format, needs_region_ids, package, write_converted
from core.exports.csv_export import csv_chunks
from core.exports.media import organization_projects, upload_root
from core.exports.json_min import ControlMatcher, json_min_record, prettify, task_items
from core.exports.sql_json import task_tail_json
from core.exports.video import interpolate_key_frames, is_video_object_tracking
from core.files.models import FileUpload
from core.predictions.models import Prediction
from core.projects.queries import get_project
from core.shapes.annotations import exported_annotation_json, result_count
from core.shapes.predictions import exported_prediction_json
from core.shapes.tasks import exported_task_json
from core.shapes.users import completed_by_json
from core.tasks.models import Task
from core.users.models import User
from core.timeutil import utcnow

STREAMED_FORMATS = ("JSON", "JSON_MIN", "CSV", "TSV")
# Label Studio names TSV exports .csv (its converter writes result.csv for both).
_FILE_TYPES = {"CSV": (".csv", "text/csv"), "TSV": (".csv", "text/tab-separated-values")}
BATCH_SIZE = 2000
# Task data imported without a key lands here; the export names it after the config's first data key.
DATA_UNDEFINED_NAME = "$undefined$"
_DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True)
class ExportOptions:
    export_type: str = "JSON"
    download_all_tasks: bool = False  # False: only tasks with at least one annotation (skips count)
    download_resources: bool = False  # copy uploaded media into VOC / ASR archives (WITH_IMAGES formats always do)
    task_ids: tuple[int, ...] | None = None
    # Snapshot options (Label Studio's task_filter_options / annotation_filter_options / serialization_options).
    task_filters: "TaskFilters | None" = None
    annotation_kinds: tuple[str, ...] | None = None  # any of "usual", "ground_truth", "skipped"; None: all
    expand_predictions: bool = False
    expand_completed_by: bool = False
    interpolate_key_frames: bool = False  # video tracking regions get every frame between key frames


@dataclass(frozen=True)
class TaskFilters:
    """Which tasks a snapshot holds: "only" / "exclude" / None per condition, as Label Studio's
    TaskFilterOptionsSerializer; `view_condition` is the Data Manager tab's compiled filter."""
    skipped: str | None = None
    finished: str | None = None
    annotated: str | None = None
    only_with_annotations: bool = False
    view_condition: Any = None


@dataclass(frozen=True)
class ExportPlan:
    project_id: int
    options: ExportOptions
    parsed_config: dict
    first_data_key: str | None
    filename: str
    content_type: str = "application/json"
    settings: Settings | None = None  # converted formats work under data_dir / "export" / "tmp"


@dataclass(frozen=True)
class PreparedExport:
    chunks: Iterator[bytes]
    filename: str
    content_type: str


@use_case(policy.EXPORTS_VIEW)
def plan_export(ctx: Context, project_id: int, options: ExportOptions) -> ExportPlan:
    """Checks access and options before anything is streamed."""
    project = get_project(ctx, project_id)
    check_format(options.export_type)
    stamp = utcnow().strftime("%Y-%m-%d-%H-%M")
    extension, content_type = _FILE_TYPES.get(options.export_type, (".json", "application/json"))
    return ExportPlan(
        project_id=project.id,
        options=options,
        parsed_config=lc.parsed_label_config(project.label_config),
        first_data_key=lc.first_object_data_key(project.label_config),
        filename=f"project-{project.id}-at-{stamp}-{uuid.uuid4().hex[:8]}{extension}",
        content_type=content_type,
        settings=ctx.settings,
    )


def prepare_export(open_session: Callable[[], Session], plan: ExportPlan) -> PreparedExport:
    """The easy export's file: JSON, JSON_MIN, CSV and TSV are streamed as they are read; other formats
    are converted first into a work folder (their file name and type depend on what was written),
    then streamed from disk and deleted."""
    if plan.options.export_type in STREAMED_FORMATS:
        return PreparedExport(stream_export(open_session, plan), plan.filename, plan.content_type)
    data_dir = plan.settings.data_dir if plan.settings else None
    work = Path(tempfile.mkdtemp(prefix="convert-", dir=_work_root(data_dir)))
    try:
        session = open_session()
        try:
            matcher = ControlMatcher(plan.parsed_config, needs_region_ids(plan.options.export_type, plan.parsed_config))
            write_converted(plan.options.export_type, lambda: _items(session, plan, matcher), work / "out", plan.parsed_config,
                            upload_dir=upload_root(data_dir) if data_dir else None,
                            download_resources=plan.options.download_resources, settings=plan.settings,
                            read_tasks=lambda: export_tasks(session, plan),
                            upload_projects=organization_projects(session, plan.project_id))
        finally:
            session.close()
        packaged = package(work / "out", allow_empty=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    stem = plan.filename.rsplit(".", 1)[0]
    return PreparedExport(_file_chunks(packaged.path, cleanup=work), stem + packaged.suffix, packaged.content_type)


def _work_root(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    root = Path(data_dir) / "export" / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _file_chunks(path: Path, cleanup: Path | None = None, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    try:
        with open(path, "rb") as file:
            while chunk := file.read(chunk_size):
                yield chunk
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)


def stream_export(open_session: Callable[[], Session], plan: ExportPlan) -> Iterator[bytes]:
    """The export file as bytes chunks (one per batch of tasks), on a session of its own that
    lives as long as the stream."""
    session = open_session()
    try:
        if plan.options.export_type == "JSON_MIN":
            yield from _json_min_chunks(session, plan)
        elif plan.options.export_type in ("CSV", "TSV"):
            matcher = ControlMatcher(plan.parsed_config)
            yield from csv_chunks(lambda: _items(session, plan, matcher), "," if plan.options.export_type == "CSV" else "\t",
                                  prettify)
        else:
            yield from _json_chunks(session, plan)
    finally:
        session.close()


def _json_chunks(session: Session, plan: ExportPlan, *, task_per_line: bool = False) -> Iterator[bytes]:
    """`task_per_line`: tasks separated by ",\n" (still one JSON array), so a snapshot file can be
    read back a task at a time (see snapshot_tasks)."""
    tail_column = task_tail_json(session.get_bind().dialect.name)
    columns = (Task.id, Task.file_upload_id, tail_column) if tail_column is not None else _TASK_COLUMNS
    separator = ",\n" if task_per_line else ","
    yield b"["
    first = True
    for tasks, annotations, predictions, uploads in _batches(session, plan, columns=columns):
        users = _completed_by_users(session, annotations) if plan.options.expand_completed_by else None
        if tail_column is not None:
            body = separator.join(
                _task_text(task, annotations.get(task.id), predictions.get(task.id), plan, users, uploads) for task in tasks
            ).encode()
        elif task_per_line:
            body = separator.join(
                orjson.dumps(_task_json(task, annotations.get(task.id), predictions.get(task.id, []), plan, users, uploads),
                             option=_DUMP_OPTIONS).decode()
                for task in tasks
            ).encode()
        else:
            items = [_task_json(task, annotations.get(task.id), predictions.get(task.id, []), plan, users, uploads)
                     for task in tasks]
            body = orjson.dumps(items, option=_DUMP_OPTIONS)[1:-1]
        if not body:
            continue
        yield body if first else separator.encode() + body
        first = False
    yield b"]"


def snapshot_chunks(open_session: Callable[[], Session], plan: ExportPlan) -> Iterator[bytes]:
    """A snapshot's JSON file: the JSON export with one task per line."""
    session = open_session()
    try:
        yield from _json_chunks(session, plan, task_per_line=True)
    finally:
        session.close()


def snapshot_tasks(lines: Iterable[bytes]) -> Iterator[dict]:
    """The tasks of a snapshot file written by snapshot_chunks, one at a time."""
    for line in lines:
        line = line.rstrip(b"\r\n")
        if line.startswith(b"["):
            line = line[1:]
        if line.endswith(b",") or line.endswith(b"]"):
            line = line[:-1]
        if line:
            yield orjson.loads(line)


def _task_text(task, annotations, prediction_ids, plan: ExportPlan, users: dict[int, dict] | None = None,
               uploads: dict[int, str] | None = None) -> str:
    """One task's JSON: id, annotations, file_upload (tasks from a file), drafts and predictions, then
    the tail the database rendered."""
    tail = task.tail
    if DATA_UNDEFINED_NAME in tail:
        tail = _renamed_undefined_key(tail, plan)
    rendered_annotations = (
        orjson.dumps([_annotation_json(row, users, _interpolates(plan)) for row in annotations], option=_DUMP_OPTIONS).decode()
        if annotations
        else "[]"
    )
    rendered_predictions = orjson.dumps(prediction_ids, option=_DUMP_OPTIONS).decode() if prediction_ids else "[]"
    file_upload = _file_upload_name(task, uploads)
    rendered_file = f'"file_upload":{orjson.dumps(file_upload).decode()},' if file_upload is not None else ""
    return (f'{{"id":{task.id},"annotations":{rendered_annotations},{rendered_file}"drafts":[],'
            f'"predictions":{rendered_predictions},{tail[1:]}')


def _file_upload_name(task, uploads: dict[int, str] | None) -> str | None:
    return uploads.get(task.file_upload_id) if uploads and task.file_upload_id is not None else None


def _renamed_undefined_key(tail: str, plan: ExportPlan) -> str:
    values = orjson.loads(tail)
    if isinstance(values.get("data"), dict) and DATA_UNDEFINED_NAME in values["data"] and plan.first_data_key:
        values["data"][plan.first_data_key] = values["data"].pop(DATA_UNDEFINED_NAME)
    return orjson.dumps(values, option=_DUMP_OPTIONS).decode()


def _json_min_chunks(session: Session, plan: ExportPlan) -> Iterator[bytes]:
    matcher = ControlMatcher(plan.parsed_config)
    yield b"[\n"
    first = True
    for items in converter_item_batches(session, plan, matcher):
        if not items:
            continue
        # The converter writes each record with json.dump(indent=2), separated by ",\n".
        body = b",\n".join(orjson.dumps(json_min_record(item), option=_DUMP_OPTIONS | orjson.OPT_INDENT_2) for item in items)
        yield body if first else b",\n" + body
        first = False
    yield b"\n]"


def export_tasks(session: Session, plan: ExportPlan) -> Iterator[dict]:
    """The JSON export's tasks, one dict at a time (as the converter reads them back)."""
    for tasks, annotations, predictions, uploads in _batches(session, plan):
        users = _completed_by_users(session, annotations) if plan.options.expand_completed_by else None
        for task in tasks:
            rendered = _task_json(task, annotations.get(task.id), predictions.get(task.id, []), plan, users, uploads)
            yield orjson.loads(orjson.dumps(rendered, option=_DUMP_OPTIONS))


def _items(session: Session, plan: ExportPlan, matcher: ControlMatcher) -> Iterator[dict]:
    return (item for batch in converter_item_batches(session, plan, matcher) for item in batch)


def converter_item_batches(session: Session, plan: ExportPlan, matcher: ControlMatcher) -> Iterator[list[dict]]:
    """Per batch of tasks, the label_studio_sdk converter's items (see json_min.task_items)."""
    interpolate = _interpolates(plan)
    for tasks, annotations, _, _ in _batches(session, plan, with_predictions=False):
        items: list[dict] = []
        for task in tasks:
            rows = [
                {
                    "id": row.id,
                    "completed_by": row.completed_by_id,
                    "result": _annotation_result(row.result, True) if interpolate else (
                        orjson.loads(row.result) if row.result is not None else None),
                    "was_cancelled": row.was_cancelled,
                    "created_at": _iso(row.created_at),
                    "updated_at": _iso(row.updated_at),
                    "lead_time": row.lead_time,
                }
                for row in annotations.get(task.id, ())
            ]
            items.extend(task_items(task.id, _data_object(task.data, plan), rows, matcher))
        yield items


def _iso(value: datetime | None) -> str | None:
    return orjson.dumps(value, option=_DUMP_OPTIONS)[1:-1].decode() if value is not None else None


_TASK_COLUMNS = (
    Task.id,
    cast(Task.data, Text).label("data"),
    cast(Task.meta, Text).label("meta"),
    Task.created_at,
    Task.updated_at,
    Task.allow_skip,
    Task.inner_id,
    Task.total_annotations,
    Task.cancelled_annotations,
    Task.total_predictions,
    Task.comment_count,
    Task.unresolved_comment_count,
    Task.last_comment_updated_at,
    Task.project_id,
    Task.updated_by_id,
    Task.file_upload_id,
)
_ANNOTATION_COLUMNS = (
    Annotation.id,
    Annotation.task_id,
    Annotation.completed_by_id,
    cast(Annotation.result, Text).label("result"),
    Annotation.was_cancelled,
    Annotation.ground_truth,
    Annotation.created_at,
    Annotation.updated_at,
    Annotation.draft_created_at,
    Annotation.lead_time,
    Annotation.unique_id,
    Annotation.import_id,
    Annotation.last_action,
    Annotation.bulk_created,
    Annotation.project_id,
    Annotation.updated_by_id,
    Annotation.parent_prediction_id,
    Annotation.parent_annotation_id,
    Annotation.last_created_by_id,
)


_PREDICTION_COLUMNS = (
    Prediction.id,
    Prediction.task_id,
    cast(Prediction.result, Text).label("result"),
    Prediction.model_version,
    Prediction.score,
    Prediction.cluster,
    cast(Prediction.neighbors, Text).label("neighbors"),
    Prediction.mislabeling,
    Prediction.created_at,
    Prediction.updated_at,
    Prediction.model_id,
    Prediction.model_run_id,
    Prediction.project_id,
)


def _annotation_conditions(options: ExportOptions) -> list:
    """Label Studio's annotation_filter_options: any of the chosen kinds (OR); None keeps all."""
    if not options.annotation_kinds:
        return []
    kinds = {
        "usual": and_(Annotation.was_cancelled.is_(False), Annotation.ground_truth.is_(False)),
        "ground_truth": Annotation.ground_truth.is_(True),
        "skipped": Annotation.was_cancelled.is_(True),
    }
    return [or_(*(kinds[kind] for kind in options.annotation_kinds))]


def _task_conditions(options: ExportOptions) -> list:
    """Label Studio's task_filter_options as conditions on tasks."""
    filters = options.task_filters
    if filters is None:
        return []
    conditions = []
    if filters.view_condition is not None:
        conditions.append(filters.view_condition)
    pairs = (
        (filters.skipped, exists().where(Annotation.task_id == Task.id, Annotation.was_cancelled.is_(True))),
        (filters.finished, Task.is_labeled.is_(True)),
        (filters.annotated, exists().where(Annotation.task_id == Task.id, Annotation.was_cancelled.is_(False))),
    )
    for choice, condition in pairs:
        if choice == "only":
            conditions.append(condition)
        elif choice == "exclude":
            conditions.append(~condition)
    if filters.only_with_annotations:
        conditions.append(exists().where(Annotation.task_id == Task.id))
    return conditions


def _batches(session: Session, plan: ExportPlan, *, with_predictions: bool = True, columns=_TASK_COLUMNS):
    """(tasks, annotations by task id, prediction ids by task id, file names by upload id) per batch of
    tasks, in id order. Without predictions (the converters' items) no file names are read either."""
    for tasks in _task_batches(session, plan, columns):
        first_id, last_id = tasks[0].id, tasks[-1].id
        in_batch = {task.id for task in tasks}
        # A range of task ids (three parameters) rather than an IN list of thousands is much cheaper to
        # send and plan; rows of tasks left out by the filters are dropped here. Sparse batches (tasks
        # picked by id) would drag in too many rows that way, so they list their ids.
        if last_id - first_id + 1 <= 4 * len(tasks):
            annotation_tasks = Annotation.task_id.between(first_id, last_id)
            prediction_tasks = Prediction.task_id.between(first_id, last_id)
        else:
            annotation_tasks = Annotation.task_id.in_(in_batch)
            prediction_tasks = Prediction.task_id.in_(in_batch)
        annotations: dict[int, list] = {}
        for row in session.execute(
            select(*_ANNOTATION_COLUMNS)
            .where(Annotation.project_id == plan.project_id, annotation_tasks, *_annotation_conditions(plan.options))
            .order_by(Annotation.id)
        ):
            if row.task_id in in_batch:
                annotations.setdefault(row.task_id, []).append(row)
        predictions: dict[int, list] = {}
        if with_predictions and plan.options.expand_predictions:
            for row in session.execute(
                select(*_PREDICTION_COLUMNS)
                .where(Prediction.project_id == plan.project_id, prediction_tasks)
                .order_by(Prediction.id)
            ):
                if row.task_id in in_batch:
                    predictions.setdefault(row.task_id, []).append(_prediction_json(row))
        elif with_predictions:
            for task_id, prediction_id in session.execute(
                select(Prediction.task_id, Prediction.id)
                .where(Prediction.project_id == plan.project_id, prediction_tasks)
                .order_by(Prediction.id)
            ):
                if task_id in in_batch:
                    predictions.setdefault(task_id, []).append(prediction_id)
        yield tasks, annotations, predictions, _upload_names(session, tasks) if with_predictions else {}


def _upload_names(session: Session, tasks: Sequence) -> dict[int, str]:
    """The stored file names ("<uuid8>-<name>") of the uploads a batch's tasks came from."""
    upload_ids = {task.file_upload_id for task in tasks if task.file_upload_id is not None}
    if not upload_ids:
        return {}
    rows = session.execute(select(FileUpload.id, FileUpload.file).where(FileUpload.id.in_(upload_ids)))
    return {upload_id: file.rsplit("/", 1)[-1] for upload_id, file in rows}


def _task_batches(session: Session, plan: ExportPlan, columns) -> Iterator[list]:
    """Non-empty batches of task rows in id order: keyset pages of the project, or the chosen ids
    a batch at a time (bound parameters stay far below SQLite's limit)."""
    options = plan.options
    conditions = [Task.project_id == plan.project_id, *_task_conditions(options)]
    if not options.download_all_tasks:
        conditions.append(exists().where(Annotation.task_id == Task.id))
    if options.task_ids is not None:
        chosen = sorted(set(options.task_ids))
        for start in range(0, len(chosen), BATCH_SIZE):
            chunk = chosen[start:start + BATCH_SIZE]
            tasks = session.execute(select(*columns).where(*conditions, Task.id.in_(chunk)).order_by(Task.id)).all()
            if tasks:
                yield tasks
        return
    last_id = 0
    while True:
        tasks = session.execute(
            select(*columns).where(*conditions, Task.id > last_id).order_by(Task.id).limit(BATCH_SIZE)
        ).all()
        if not tasks:
            return
        yield tasks
        if len(tasks) < BATCH_SIZE:
            return
        last_id = tasks[-1].id


_Fragment = orjson.Fragment


def _completed_by_users(session: Session, annotations: dict[int, list]) -> dict[int, dict]:
    """Label Studio's expanded completed_by of a batch's annotators."""
    ids = {row.completed_by_id for rows in annotations.values() for row in rows if row.completed_by_id is not None}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.email, User.first_name, User.last_name).where(User.id.in_(ids)))
    return {row.id: completed_by_json(row) for row in rows}


def _prediction_json(row) -> dict:
    """An expanded prediction of a snapshot."""
    return exported_prediction_json(row, result=_raw_json(row.result, []), neighbors=_raw_json(row.neighbors))


def _raw_json(text: str | None, empty: Any = None) -> Any:
    if text is None or text == "null":
        return empty
    return orjson.Fragment(text)


def _data_object(text: str | None, plan: ExportPlan) -> Any:
    data = orjson.loads(text) if text is not None else {}
    if isinstance(data, dict) and DATA_UNDEFINED_NAME in data and plan.first_data_key:
        data[plan.first_data_key] = data.pop(DATA_UNDEFINED_NAME)
    return data


def _interpolates(plan: ExportPlan) -> bool:
    return plan.options.interpolate_key_frames and is_video_object_tracking(plan.parsed_config)


def _annotation_result(text: str | None, interpolate: bool) -> Any:
    if interpolate and text is not None and text != "null":
        result = orjson.loads(text)
        return interpolate_key_frames(result) if isinstance(result, list) else result
    return _raw_json(text)


def _annotation_json(row, users: dict[int, dict] | None, interpolate: bool = False) -> dict:
    completed_by = row.completed_by_id if users is None else users.get(row.completed_by_id)
    # Label Studio stores result_count when an annotation is saved; here it is counted from the result.
    counted = result_count(orjson.loads(row.result)) if row.result is not None else 0
    return exported_annotation_json(row, completed_by=completed_by, result=_annotation_result(row.result, interpolate),
                                    result_count=counted)


def _task_json(task, annotations: Sequence, prediction_ids: Sequence, plan: ExportPlan,
               users: dict[int, dict] | None = None, uploads: dict[int, str] | None = None) -> dict:
    data, meta = task.data, task.meta
    return exported_task_json(
        task,
        file_upload=_file_upload_name(task, uploads),
        annotations=[_annotation_json(row, users, _interpolates(plan)) for row in annotations] if annotations else [],
        predictions=prediction_ids,
        # _raw_json inlined: this runs once per exported task.
        data=_data_object(data, plan) if data is None or DATA_UNDEFINED_NAME in data else _Fragment(data),
        meta=_Fragment(meta) if meta is not None and meta != "null" else {},
    )
