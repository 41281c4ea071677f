"""Reading stored uploads into tasks and writing them, in two passes over the files.

1. `scan` reads every file to the end without writing: it checks the format (errors name the
   file and line/item), validates every task against the label config (and its annotations'
   authors and predictions), and counts. Nothing is written when a file is bad, so an import
   never leaves partial tasks behind because of its input.
2. `batches` reads the files again and yields normalized tasks a batch at a time, skipping the
   first `skip` tasks: a job that was interrupted resumes after the tasks it committed.

Memory stays bounded by the batch size whatever the file size."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.errors import ValidationError
from core.files.models import FileUpload
from core.files.storage import extension, resolve_stored, url_of
from core.imports import readers
from core.imports.predictions import _optional_float, _prediction_row, preannotations_from_fields
from core.imports.tasks_import import MAX_TASKS_PER_IMPORT, _annotation_author
from core.imports.validation import MAX_REPORTED_ERRORS, TaskDataError, _plain_data_keys, normalize_import_item
from core.label_config import data_types as config_data_types
from core.organizations.models import OrganizationMember
from core.projects.models import Project
from core.tasks.bulk import insert_annotations, insert_predictions, insert_tasks
from core.tasks.counters import refresh_task_counters
from core.tasks.queries import is_valid_id
from core.users.models import User
from core.validation import NUL_MESSAGE, holds_nul

BATCH_SIZE = 5000
_MISSING = object()
ONE_DATA_KEY_ONLY = (
    "Your label config has more than one data key and direct file upload supports only one data key. "
    "To import data with multiple data keys, use a JSON or CSV file."
)


@dataclass
class ImportSettings:
    commit_to_project: bool = True
    files_as_tasks_list: bool = True
    preannotated_from_fields: list[str] | None = None


@dataclass
class ScanResult:
    task_count: int = 0
    annotation_count: int = 0
    prediction_count: int = 0
    found_formats: dict[str, int] = field(default_factory=dict)
    data_columns: list[str] = field(default_factory=list)
    could_be_tasks_list: bool = False


class _Authors:
    """Resolves annotations' completed_by (email or member id) in the project's organization."""

    def __init__(self, session: Session, project: Project, default_user_id: int | None):
        self._session, self._project, self.default_user_id = session, project, default_user_id
        self._members: dict[str, int] | None = None

    def resolve(self, completed_by: Any) -> int:
        if self._members is None:
            rows = self._session.execute(
                select(User.email, User.id)
                .join(OrganizationMember, OrganizationMember.user_id == User.id)
                .where(OrganizationMember.organization_id == self._project.organization_id, OrganizationMember.deleted_at.is_(None))
            )
            self._members = {email: user_id for email, user_id in rows}
            self._member_ids = set(self._members.values())
        try:
            return _annotation_author(completed_by, self._members, self._member_ids, self.default_user_id)
        except ValidationError as exc:
            raise TaskDataError(" ".join(message for messages in exc.errors.values() for message in messages))


def _raise_collected(errors: list[str]) -> None:
    if errors:
        raise ValidationError({"non_field_errors": errors[:MAX_REPORTED_ERRORS]})


class ImportPlan:
    """The tasks held by some stored file uploads of one project."""

    def __init__(self, session: Session, settings: Settings, project: Project, uploads: list[FileUpload],
                 options: ImportSettings, author_id: int | None):
        self.session, self.settings, self.project, self.options = session, settings, project, options
        self.uploads = sorted(uploads, key=lambda upload: upload.id)
        self.data_types = config_data_types(project.label_config)
        self.authors = _Authors(session, project, author_id)
        self._profiles: dict[int, readers.TableProfile] = {}
        self._plain_keys = None if options.preannotated_from_fields else _plain_data_keys(self.data_types)

    # ------------------------------------------------------------ reading

    def _path(self, upload: FileUpload) -> Path:
        path = resolve_stored(self.settings, upload.file)
        if path is None or not path.is_file():
            raise ValidationError(f"Uploaded file {upload.file} is missing from the server's storage.")
        return path

    def _raw_items(self, upload: FileUpload) -> Iterator[tuple[str, Any]]:
        """(where, item) for every task the file holds, as read (before validation)."""
        path, file_format = self._path(upload), extension(upload.file)
        as_list = self.options.files_as_tasks_list
        if file_format in (".csv", ".tsv") and as_list:
            profile = self._profiles.get(upload.id)
            if profile is None:
                profile = self._profiles[upload.id] = readers.profile_table(path, file_format)
            rows = readers.read_table(path, profile)
            unit = "line"
        elif file_format == ".txt" and as_list:
            rows, unit = readers.read_text_lines(path), "line"
        elif file_format == ".json":
            rows, unit = readers.read_json(path), "item"
        elif file_format == ".jsonl":
            rows, unit = readers.read_json_lines(path), "line"
        elif len(self.data_types) > 1:
            raise readers.FileFormatError(ONE_DATA_KEY_ONLY)
        elif file_format in readers.HYPERTEXT_FORMATS:
            rows, unit = readers.read_hypertext(path), "item"
        else:
            rows, unit = iter([(1, {"data": {readers.DATA_UNDEFINED_NAME: url_of(upload.file)}})]), "item"
        for number, item in rows:
            yield f"{unit} {number}", item

    def _file_name(self, upload: FileUpload) -> str:
        """The client's file name (the stored one minus its "<uuid8>-" prefix)."""
        return upload.file.rsplit("/", 1)[-1].split("-", 1)[-1]

    def _items(self, upload: FileUpload) -> Iterator[tuple[str, Any]]:
        try:
            if readers.may_hold_nul(self._path(upload)):
                for where, item in self._raw_items(upload):
                    if holds_nul(item):
                        raise readers.FileFormatError(f"{where}: {NUL_MESSAGE}")
                    yield where, item
            else:
                yield from self._raw_items(upload)
        except readers.FileFormatError as exc:
            raise ValidationError(f"Failed to parse input file {self._file_name(upload)}: {exc}")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"Failed to parse input file {self._file_name(upload)}: the file is not valid UTF-8 ({exc.reason})")

    def _with_preannotations(self, item: Any) -> Any:
        fields = self.options.preannotated_from_fields
        return preannotations_from_fields([item], fields, self.project)[0] if fields else item

    def _task(self, item: Any) -> dict:
        """The normalized task (TaskDataError when it does not fit the label config)."""
        # Fast path for the common item {"data": {...}} (every CSV/TSV row) whose values have the
        # exact types the config accepts; anything else takes the full check (same verdicts).
        if self._plain_keys is not None and type(item) is dict and len(item) == 1 and type(item.get("data")) is dict:
            data = item["data"]
            if readers.DATA_UNDEFINED_NAME not in data:
                for key, accepted in self._plain_keys:
                    if type(data.get(key, _MISSING)) not in accepted:
                        break
                else:
                    return {"data": data, "meta": {}, "annotations": (), "predictions": (), "allow_skip": True}
        task = normalize_import_item(self._with_preannotations(item), self.data_types)
        for annotation in task["annotations"]:
            self.authors.resolve(annotation.get("completed_by"))
        for number, prediction in enumerate(task["predictions"]):
            try:
                _prediction_row(prediction, self.project, None)
            except TaskDataError as exc:
                raise TaskDataError(f"prediction {number}: Failed to create prediction - {exc}")
        return task

    # ------------------------------------------------------------ pass 1

    def scan(self) -> ScanResult:
        """Read and check every task of every file; ValidationError naming the file and row."""
        result, errors = ScanResult(), []
        common_columns: list[str] | None = None
        validate = self.options.commit_to_project
        for upload in self.uploads:
            file_format = extension(upload.file)
            first = True
            for where, item in self._items(upload):
                if not isinstance(item.get("data"), dict):
                    errors.append(f"{self._file_name(upload)}, {where}: Task item should be dict")
                    continue
                if first:
                    common_columns = self._check_columns(common_columns, list(item["data"]), upload)
                    first = False
                result.task_count += 1
                if result.task_count > MAX_TASKS_PER_IMPORT:
                    raise ValidationError(f"Maximum task number is {MAX_TASKS_PER_IMPORT}, current task number is more")
                if validate:
                    try:
                        task = self._task(item)
                    except TaskDataError as exc:
                        errors.append(f"{self._file_name(upload)}, {where}: {exc}")
                        if len(errors) >= MAX_REPORTED_ERRORS:
                            break
                        continue
                    result.annotation_count += len(task["annotations"])
                    result.prediction_count += len(task["predictions"])
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
            result.found_formats[file_format] = result.found_formats.get(file_format, 0) + 1
            result.could_be_tasks_list |= file_format in readers.TASKS_LIST_FORMATS
        _raise_collected(errors)
        if result.task_count == 0:
            raise ValidationError("load_tasks: No tasks added")
        result.found_formats = dict(Counter(result.found_formats))
        # In the file's order (Label Studio answers a set, in no particular order).
        result.data_columns = common_columns or []
        return result

    def _check_columns(self, common: list[str] | None, columns: list[str], upload: FileUpload) -> list[str]:
        """Label Studio's rule: files of one import must share at least one data column. The shared
        columns keep the first file's order."""
        if not common:
            return columns
        shared = [column for column in common if column in columns]
        if not shared:
            raise ValidationError(
                "You're trying to import inconsistent data:\n"
                f'uploading data from "{upload.file}" with data key(s) "{",".join(sorted(columns))}", '
                f'clashes with data key(s) found from other files:\n"{",".join(sorted(common))}"'
            )
        return shared

    # ------------------------------------------------------------ pass 2

    def batches(self, skip: int = 0, size: int = BATCH_SIZE) -> Iterator[list[dict]]:
        """Normalized tasks (with file_upload_id) after the first `skip`, `size` at a time.
        Call after `scan` succeeded: the same files give the same tasks."""
        batch: list[dict] = []
        position = 0
        for upload in self.uploads:
            for _, item in self._items(upload):
                position += 1
                if position <= skip:
                    continue
                try:
                    task = self._task(item)
                except TaskDataError as exc:  # the file changed since the scan
                    raise ValidationError(f"{self._file_name(upload)}: {exc}")
                task["file_upload_id"] = upload.id
                batch.append(task)
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def write(self, session: Session, tasks: list[dict], import_id: int) -> tuple[list[int], int, int]:
        """Insert one batch with its annotations and predictions; (task ids, annotations, predictions)."""
        task_ids = insert_tasks(session, self.project, tasks, import_id=import_id)
        annotations, predictions = [], []
        for task_id, task in zip(task_ids, tasks):
            for annotation in task["annotations"]:
                annotations.append({
                    "task_id": task_id,
                    "project_id": self.project.id,
                    "result": annotation["result"],
                    "completed_by_id": self.authors.resolve(annotation.get("completed_by")),
                    "was_cancelled": bool(annotation.get("was_cancelled", False)),
                    "ground_truth": bool(annotation.get("ground_truth", True)),
                    "lead_time": _optional_float(annotation.get("lead_time")),
                    "import_id": annotation.get("id") if is_valid_id(annotation.get("id")) else None,
                })
            for prediction in task["predictions"]:
                predictions.append(_prediction_row(prediction, self.project, task_id))
        insert_annotations(session, annotations)
        insert_predictions(session, predictions)
        if annotations or predictions:
            refresh_task_counters(session, {row["task_id"] for row in annotations + predictions})
        if predictions:
            # A statement, not the attribute: the project may belong to another session (jobs).
            session.execute(
                update(Project)
                .where(Project.id == self.project.id, or_(Project.model_version.is_(None), Project.model_version == ""))
                .values(model_version=predictions[-1]["model_version"]),
                execution_options={"synchronize_session": False},
            )
        return task_ids, len(annotations), len(predictions)
