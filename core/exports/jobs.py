"""Job kinds "export" (write a snapshot's JSON file) and "export_convert" (convert it to another format).

Both only write their row's file and status; a redelivered job rewrites the same file from the start,
so running twice changes nothing. Label Studio's statuses are kept on the rows (in_progress,
completed, failed), the job row carries progress and the error."""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from core import label_config as lc
from core.config import Settings
from core.db.unit_of_work import transaction
from core.errors import DomainError, ValidationError
from core.exports.json_export import ExportOptions, ExportPlan, TaskFilters, snapshot_chunks
from core.exports.models import COMPLETED, FAILED, IN_PROGRESS, ConvertedFormat, Export
from core.exports.media import organization_projects
from core.exports.snapshot_files import convert_snapshot_file
from core.exports.snapshots import CONVERTED_DIR, export_root
from core.jobs.models import Job
from core.jobs.registry import EXPORTS_QUEUE, register_job_kind
from core.jobs.runner import is_transient
from core.jobs.service import report_progress
from core.projects.models import Project
from core.timeutil import utcnow

EXPORT_KIND = "export"
PROGRESS_EVERY_CHUNKS = 5  # a chunk is a batch of tasks (json_export.BATCH_SIZE)
CONVERT_KIND = "export_convert"


def _view_condition(session: Session, project: Project, view_id: int | None):
    """The Data Manager tab's filters and selection as one condition on tasks (None: no tab)."""
    if view_id is None:
        return None
    from core.data_manager.filters import check_patterns_on_database, compile_filters
    from core.data_manager.models import View
    from core.data_manager.selection import selection_condition

    view = session.scalar(select(View).where(View.id == view_id, View.project_id == project.id))
    if view is None:
        return None
    check_patterns_on_database(session, view.filters)  # a bad regex fails the job readably
    condition = compile_filters(view.filters, project)
    selected = selection_condition(view.selected_items)
    if selected is not None:
        condition = condition & selected
    return condition


def snapshot_plan(session: Session, project: Project, export: Export) -> ExportPlan:
    """The JSON export a snapshot's options describe (Label Studio's ExportMixin.get_export_data)."""
    options = export.options or {}
    task_filter = options.get("task_filter_options")
    annotation_filter = options.get("annotation_filter_options")
    serialization = options.get("serialization_options") or {}
    filters = None
    if task_filter is not None:
        filters = TaskFilters(
            skipped=task_filter.get("skipped"), finished=task_filter.get("finished"), annotated=task_filter.get("annotated"),
            only_with_annotations=bool(task_filter.get("only_with_annotations")),
            view_condition=_view_condition(session, project, task_filter.get("view")),
        )
    kinds = None
    if annotation_filter is not None:
        kinds = tuple(kind for kind in ("usual", "ground_truth", "skipped") if annotation_filter.get(kind)) or None

    def expanded(name: str) -> bool:
        return isinstance(serialization.get(name), dict) and not serialization[name].get("only_id")

    return ExportPlan(
        project_id=project.id,
        options=ExportOptions(export_type="JSON", download_all_tasks=True, task_filters=filters, annotation_kinds=kinds,
                              expand_predictions=expanded("predictions"),
                              expand_completed_by=expanded("annotations__completed_by"),
                              interpolate_key_frames=bool(serialization.get("interpolate_key_frames"))),
        parsed_config=lc.parsed_label_config(project.label_config),
        first_data_key=lc.first_object_data_key(project.label_config),
        filename="",
    )


def run_export(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    with transaction(session_factory) as session:
        export_id = session.get_one(Job, job_id).payload["export_id"]
    try:
        with transaction(session_factory) as session:
            export = session.get(Export, export_id)
            if export is None:
                return {"export_id": export_id, "deleted": True}
            if export.status == COMPLETED:
                return {"export_id": export_id, "task_number": (export.counters or {}).get("task_number", 0)}
            project = session.get_one(Project, export.project_id)
            export.status = IN_PROGRESS
            project_id = project.id
            plan = snapshot_plan(session, project, export)  # a view's filters may no longer compile
    except Exception as error:
        if not is_transient(error):
            _mark(session_factory, Export, export_id, FAILED)
        raise
    root = export_root(settings.data_dir) / str(project_id)
    root.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".snapshot-", suffix=".json", dir=root)
    try:
        md5 = hashlib.md5(usedforsecurity=False)
        separators, any_task = 0, False
        with open(handle, "wb") as out:
            for number, chunk in enumerate(snapshot_chunks(session_factory, plan)):
                md5.update(chunk)
                out.write(chunk)
                # Tasks are separated by ",\n" (neither orjson nor the database writes a raw newline
                # inside one); every chunk but the opening "[" and closing "]" holds tasks.
                separators += chunk.count(b",\n")
                any_task = any_task or chunk not in (b"[", b"]")
                if number % PROGRESS_EVERY_CHUNKS == 0 and number:
                    with transaction(session_factory) as session:
                        report_progress(session, job_id, separators + any_task)
        task_number = separators + any_task
        digest = md5.hexdigest()
        name = f"project-{project_id}-at-{utcnow().strftime('%Y-%m-%d-%H-%M')}-{digest[:8]}.json"
        final = root / name
        Path(temporary).replace(final)
        with transaction(session_factory) as session:
            done = session.execute(
                update(Export).where(Export.id == export_id)
                .values(status=COMPLETED, file=f"{project_id}/{name}", md5=digest, counters={"task_number": task_number},
                        finished_at=utcnow()),
                execution_options={"synchronize_session": False},
            )
            report_progress(session, job_id, task_number, task_number)
            if done.rowcount == 0:  # deleted meanwhile
                final.unlink(missing_ok=True)
        return {"export_id": export_id, "task_number": task_number}
    except Exception as error:
        if not is_transient(error):
            _mark(session_factory, Export, export_id, FAILED)
        raise
    finally:
        Path(temporary).unlink(missing_ok=True)  # gone already when the snapshot was completed



def _mark(session_factory, model, row_id: int, status: str, **values) -> None:
    with transaction(session_factory) as session:
        session.execute(update(model).where(model.id == row_id).values(status=status, finished_at=utcnow(), **values),
                        execution_options={"synchronize_session": False})


def run_convert(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    with transaction(session_factory) as session:
        converted_id = session.get_one(Job, job_id).payload["converted_format_id"]
        converted = session.get(ConvertedFormat, converted_id)
        if converted is None:
            return {"converted_format_id": converted_id, "deleted": True}
        if converted.status == COMPLETED:
            return {"converted_format_id": converted_id, "file": converted.file}
        export = session.get_one(Export, converted.export_id)
        project = session.get_one(Project, export.project_id)
        parsed_config = lc.parsed_label_config(project.label_config)
        export_type, download_resources = converted.export_type, converted.download_resources
        source = export_root(settings.data_dir) / (export.file or "")
        project_id = project.id
        upload_projects = organization_projects(session, project_id)
        converted.status = IN_PROGRESS
    work = Path(tempfile.mkdtemp(prefix="convert-", dir=export_root(settings.data_dir)))
    try:
        if not source.is_file():
            raise ValidationError({"export": ["The export snapshot has no file"]})
        packaged = convert_snapshot_file(source, export_type, parsed_config, work, settings=settings,
                                         download_resources=download_resources, upload_projects=upload_projects)
        if packaged is None:
            raise DomainError("No converted file found, probably there are no annotations in the export snapshot")
        relative = f"{project_id}/{CONVERTED_DIR}/{converted_id}/{source.stem}{packaged.suffix}"
        target = export_root(settings.data_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(packaged.path), target)
        with transaction(session_factory) as session:
            done = session.execute(
                update(ConvertedFormat).where(ConvertedFormat.id == converted_id)
                .values(status=COMPLETED, file=relative, finished_at=utcnow(), traceback=None),
                execution_options={"synchronize_session": False},
            )
        if done.rowcount == 0:  # the snapshot was deleted meanwhile
            shutil.rmtree(target.parent, ignore_errors=True)
        return {"converted_format_id": converted_id, "file": relative}
    except Exception as error:
        if not is_transient(error):
            _mark(session_factory, ConvertedFormat, converted_id, FAILED, traceback=_traceback(error))
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _traceback(error: Exception) -> str:
    if isinstance(error, DomainError):
        return str(error.detail if not isinstance(error, ValidationError) else error.errors)
    return "".join(traceback.format_exception_only(type(error), error)).strip()


def register_jobs() -> None:
    register_job_kind(EXPORT_KIND, run_export, queue=EXPORTS_QUEUE)
    register_job_kind(CONVERT_KIND, run_convert, queue=EXPORTS_QUEUE)
