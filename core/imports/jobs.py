"""Job kind "import": the asynchronous import (commit_to_project) of stored file uploads
(core.imports.service).

The handler scans every file first (nothing written if a file is bad), then writes the tasks a
batch per transaction; each batch commits together with the job's progress_done and the
import's counters, so an attempt that resumes after a crash skips exactly the committed tasks
(no loss, no duplicates). When the import fails for good, the tasks it already wrote are
deleted with the failure, so a failed import leaves no partial tasks.

Each batch records TASKS_CREATED with its task ids in its transaction; a failure records
TASKS_DELETED for them, the end IMPORT_COMPLETED."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.db.unit_of_work import transaction
from core.errors import ValidationError
from core.events import Event, record_event
from core.events.catalog import IMPORT_COMPLETED, TASKS_CREATED, TASKS_DELETED
from core.files.models import FileUpload
from core.imports.pipeline import ImportPlan
from core.imports.service import KIND, delete_tasks_of_uploads, import_settings
from core.jobs.models import Job
from core.jobs.registry import IMPORTS_QUEUE, register_job_kind
from core.jobs.runner import describe_error, is_transient
from core.jobs.service import MAX_ATTEMPTS, report_progress
from core.projects.models import Project
from core.tasks.models import ProjectImport, Task
from core.timeutil import utcnow

__all__ = ["KIND", "run", "register_jobs"]


def run(session_factory: sessionmaker[Session], settings: Settings, job_id: int) -> dict[str, Any]:
    with transaction(session_factory) as session:
        job = session.get_one(Job, job_id)
        import_id, skip, attempt = job.payload["import_id"], job.progress_done, job.attempts
        project_import = session.get(ProjectImport, import_id)
        if project_import is None:
            raise ValidationError("The import no longer exists.")
        if project_import.status in ("completed", "failed"):
            return {"import": import_id, "status": project_import.status}  # finished by an earlier attempt
        project_import.status = "in_progress"
        project_id = project_import.project_id
        # The events of this import: the importer's, with the import's id for subscribers.
        of_import = Event(TASKS_CREATED, job.organization_id, project_id, actor_id=project_import.created_by_id,
                          data={"import": import_id})
    started = time.monotonic()
    try:
        _run_import(session_factory, settings, job_id, import_id, project_id, skip, of_import)
    except Exception as error:

        if is_transient(error) and attempt < MAX_ATTEMPTS:
            raise  # retried: the next attempt resumes from progress_done
        _fail(session_factory, import_id, project_id, describe_error(error), of_import)
        raise
    with transaction(session_factory) as session:
        project_import = session.get_one(ProjectImport, import_id)
        task_ids = []
        if project_import.return_task_ids:
            task_ids = list(session.scalars(select(Task.id).where(Task.project_id == project_id, Task.import_id == import_id).order_by(Task.id)))
        project_import.task_ids = task_ids
        project_import.status = "completed"
        project_import.duration = (project_import.duration or 0) + time.monotonic() - started
        project_import.finished_at = utcnow()
        record_event(session, replace(of_import, kind=IMPORT_COMPLETED, object_ids=(import_id,),
                                      data={"import": import_id, "task_count": project_import.task_count}))
        return {"import": import_id, "task_count": project_import.task_count}


def _run_import(session_factory, settings: Settings, job_id: int, import_id: int, project_id: int, skip: int,
                of_import: Event) -> None:
    reader = session_factory()  # reads for the plan (project, uploads, annotators); no writes
    try:
        project_import = reader.get_one(ProjectImport, import_id)
        project = reader.get_one(Project, project_id)
        uploads = list(reader.scalars(select(FileUpload).where(FileUpload.project_id == project_id,
                                                                FileUpload.id.in_(project_import.file_upload_ids or []))))
        plan = ImportPlan(reader, settings, project, uploads, import_settings(project_import), project_import.created_by_id)
        scan = plan.scan()
        is_reimport, upload_ids = project_import.is_reimport, list(project_import.file_upload_ids)
        reader.commit()  # end the read transaction: the batches below take minutes
        with transaction(session_factory) as session:
            session.execute(update(ProjectImport).where(ProjectImport.id == import_id).values(
                found_formats=scan.found_formats, data_columns=scan.data_columns, could_be_tasks_list=scan.could_be_tasks_list))
            report_progress(session, job_id, skip, scan.task_count)
        done = skip
        for batch in plan.batches(skip=skip, size=settings.import_batch_size):
            with transaction(session_factory) as session:
                if is_reimport and done == 0:
                    replaced = delete_tasks_of_uploads(session, project_id, upload_ids, import_id)
                    if replaced:
                        record_event(session, replace(of_import, kind=TASKS_DELETED, object_ids=tuple(replaced)))
                ids, annotations, predictions = plan.write(session, batch, import_id)
                if ids:
                    record_event(session, replace(of_import, object_ids=tuple(ids)))
                done += len(ids)
                session.execute(update(ProjectImport).where(ProjectImport.id == import_id).values(
                    task_count=ProjectImport.task_count + len(ids),
                    annotation_count=ProjectImport.annotation_count + annotations,
                    prediction_count=ProjectImport.prediction_count + predictions,
                    updated_at=utcnow(),
                ))
                report_progress(session, job_id, done, scan.task_count)
    finally:
        reader.close()


def _fail(session_factory, import_id: int, project_id: int, error: str, of_import: Event) -> None:
    """Failed for good: the tasks written so far go (all or nothing), the error stays readable."""
    with transaction(session_factory) as session:
        written = list(session.scalars(
            delete(Task).where(Task.project_id == project_id, Task.import_id == import_id).returning(Task.id),
            execution_options={"synchronize_session": False},
        ))
        if written:
            record_event(session, replace(of_import, kind=TASKS_DELETED, object_ids=tuple(written)))
        session.execute(update(ProjectImport).where(ProjectImport.id == import_id).values(
            status="failed", error=error, task_count=0, annotation_count=0, prediction_count=0, finished_at=utcnow()))


def register_jobs() -> None:
    register_job_kind(KIND, run, queue=IMPORTS_QUEUE)
