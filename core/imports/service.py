"""Imports of files and URLs: POST /api/projects/{id}/import (multipart or url=) and
POST /api/projects/{id}/reimport.

Uploaded (or fetched) files are stored as FileUploads first. Up to
`settings.import_sync_max_bytes` in total (or with commit_to_project=false) they are imported in
the request and answered like Label Studio Community (task_count, ...); bigger ones become an
import job and the answer is {"import": id}, whose status GET /api/projects/{id}/imports/{pk}/
goes created -> in_progress -> completed/failed. JSON bodies keep the synchronous path of
core.imports.tasks_import.import_tasks, except very big ones, which the REST layer spools to a file
(`settings.import_json_sync_max_bytes`) and imports here."""
from __future__ import annotations

import json
import mimetypes
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.events import record
from core.events.catalog import TASKS_CREATED, TASKS_DELETED
from core.files.models import FileUpload
from core.files.storage import IncomingFile, extension, incoming_dir, store
from core.imports import readers
from core.imports.pipeline import ImportPlan, ImportSettings
from core.imports.tasks_import import ImportOptions, ImportResult, complete_import, get_project_import
from core.jobs.models import FAILED, Job
from core.jobs.service import start_job
from core.net.outgoing import OutgoingUrlRefused, fetch_to_file
from core.projects.models import Project
from core.tasks.models import ProjectImport, Task
from core.tasks.queries import get_org_project, is_valid_id

KIND = "import"
MAX_FILES_PER_REQUEST = 100  # Label Studio's DATA_UPLOAD_MAX_NUMBER_FILES
# Content types of fetched URLs without a usable extension.
_EXTENSION_BY_CONTENT_TYPE = {
    "application/json": ".json", "text/csv": ".csv", "text/tab-separated-values": ".tsv", "text/plain": ".txt",
    "application/x-ndjson": ".jsonl", "application/jsonl": ".jsonl", "text/html": ".html",
}


@dataclass
class ImportStarted:
    """An import handed to a job; `key` is the answer's key ("import" or "reimport")."""

    project_import: ProjectImport
    key: str = "import"


def _check_extensions(files: list[IncomingFile]) -> None:
    for incoming in files:
        ext = extension(incoming.name)
        if ext not in readers.SUPPORTED_EXTENSIONS:
            raise ValidationError(f"{ext or incoming.name} extension is not supported")


def _store_uploads(ctx: Context, project: Project, files: list[IncomingFile]) -> list[FileUpload]:
    uploads = []
    for incoming in files:
        name = store(ctx, project.id, incoming.path, incoming.name)
        uploads.append(FileUpload(user_id=ctx.require_user().id, project_id=project.id, file=name, size=incoming.size))
    ctx.session.add_all(uploads)
    ctx.session.flush()
    return uploads


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def import_files(ctx: Context, project_id: int, files: list[IncomingFile], options: ImportOptions) -> ImportResult | ImportStarted:
    """Store the request's files as uploads of the project and import their tasks (the stored
    files go again if the request fails)."""
    ctx.require_user()
    project = get_org_project(ctx, project_id)
    if not files:
        raise ValidationError("load_tasks: No data found in DATA or in FILES")
    if len(files) > MAX_FILES_PER_REQUEST:
        raise ValidationError(f"Too many files: at most {MAX_FILES_PER_REQUEST} per request")
    _check_extensions(files)
    uploads = _store_uploads(ctx, project, files)
    return _import_uploads(ctx, project, uploads, options, url=None)


def _json_in_url(url: str) -> Any:
    """Label Studio accepts tasks written into the url field itself (str_to_json)."""
    try:
        value = json.loads(url.replace("'", '"'))
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _fetched_name(url: str, content_type: str) -> str:
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1] or "download"
    if not extension(name):
        guessed = _EXTENSION_BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())
        guessed = guessed or mimetypes.guess_extension(content_type.split(";")[0].strip() or "") or ""
        name += guessed
    return name


@use_case(policy.TASKS_CREATE, emits=(TASKS_CREATED,))
def import_url(ctx: Context, project_id: int, url: Any, options: ImportOptions) -> ImportResult | ImportStarted:
    """url= import: fetch the file under the outgoing-URL policy (refusals are a 400), then
    import it as an upload."""
    ctx.require_user()
    project = get_org_project(ctx, project_id)
    if not url or not isinstance(url, str):
        raise ValidationError('"url" is not found in request data')
    target = incoming_dir(ctx.settings) / uuid.uuid4().hex
    ctx.on_rollback(lambda: target.unlink(missing_ok=True))
    if _json_in_url(url) is not None:
        target.write_text(url.replace("'", '"'), encoding="utf-8")
        incoming = IncomingFile("inplace.json", target, target.stat().st_size)
    else:
        try:
            fetched = fetch_to_file(ctx.settings, url, target, ctx.settings.max_body_bytes)
        except OutgoingUrlRefused as exc:
            raise ValidationError({"url": [str(exc)]}, detail=str(exc))
        incoming = IncomingFile(_fetched_name(fetched.final_url, fetched.content_type), target, fetched.size)
    _check_extensions([incoming])
    uploads = _store_uploads(ctx, project, [incoming])
    return _import_uploads(ctx, project, uploads, options, url=url)


@use_case(policy.TASKS_CREATE, emits=(TASKS_DELETED, TASKS_CREATED))
def reimport(ctx: Context, project_id: int, payload: Any) -> ImportResult | ImportStarted | None:
    """POST /api/projects/{id}/reimport: (re)create the tasks of uploads made with
    commit_to_project=false, replacing tasks earlier made from them. None when no ids were given."""
    ctx.require_user()
    project = get_org_project(ctx, project_id)
    payload = payload if isinstance(payload, dict) else {}
    ids = payload.get("file_upload_ids")
    if not ids:
        return None
    if not isinstance(ids, list) or not all(is_valid_id(value) for value in ids):
        raise ValidationError({"file_upload_ids": ["A list of file upload ids is expected."]})
    files_as_tasks_list = payload.get("files_as_tasks_list", True)
    if not isinstance(files_as_tasks_list, bool):
        files_as_tasks_list = str(files_as_tasks_list).lower() in ("true", "1", "yes")
    uploads = list(ctx.session.scalars(select(FileUpload).where(FileUpload.project_id == project.id, FileUpload.id.in_(ids))))
    if len(uploads) != len(set(ids)):
        missing = sorted(set(ids) - {upload.id for upload in uploads})
        raise ValidationError({"file_upload_ids": [f"File uploads {missing} do not exist in this project."]})
    return _import_uploads(ctx, project, uploads, ImportOptions(), url=None, reimport=True,
                           files_as_tasks_list=files_as_tasks_list)


def _import_uploads(ctx: Context, project: Project, uploads: list[FileUpload], options: ImportOptions, *, url: str | None,
                    reimport: bool = False, files_as_tasks_list: bool = True) -> ImportResult | ImportStarted:
    project_import = ProjectImport(
        project_id=project.id,
        created_by_id=ctx.require_user().id,
        status="created",
        url=url,
        commit_to_project=options.commit_to_project,
        return_task_ids=options.return_task_ids,
        preannotated_from_fields=options.preannotated_from_fields,
        file_upload_ids=[upload.id for upload in uploads],
        found_formats={},
        data_columns=[],
        could_be_tasks_list=any(extension(upload.file) in readers.TASKS_LIST_FORMATS for upload in uploads),
        is_reimport=reimport,
        files_as_tasks_list=files_as_tasks_list,
    )
    ctx.session.add(project_import)
    ctx.session.flush()
    # Without commit_to_project nothing but the upload rows is written: the files are only read
    # (streamed, bounded memory), so even big ones answer in the request, with the file_upload_ids
    # Label Studio's import dialog needs; the writing happens at the re-import.
    big = sum(upload.size for upload in uploads) > ctx.settings.import_sync_max_bytes
    if big and options.commit_to_project:
        job = start_job(ctx, KIND, {"import_id": project_import.id}, project_id=project.id)
        project_import.job_id = job.id
        ctx.session.flush()
        return ImportStarted(project_import, "reimport" if reimport else "import")
    return _import_now(ctx, project, uploads, project_import)


def import_settings(project_import: ProjectImport) -> ImportSettings:
    return ImportSettings(
        commit_to_project=project_import.commit_to_project,
        files_as_tasks_list=project_import.files_as_tasks_list,
        preannotated_from_fields=project_import.preannotated_from_fields,
    )


def delete_tasks_of_uploads(session, project_id: int, upload_ids: list[int], keep_import_id: int) -> list[int]:
    """A re-import replaces what earlier imports made from the same uploads; returns the ids deleted."""
    return list(session.scalars(
        delete(Task).where(Task.project_id == project_id, Task.file_upload_id.in_(upload_ids),
                           (Task.import_id.is_(None)) | (Task.import_id != keep_import_id)).returning(Task.id),
        execution_options={"synchronize_session": False},
    ))


def _import_now(ctx: Context, project: Project, uploads: list[FileUpload], project_import: ProjectImport) -> ImportResult:
    """The whole import inside the request's transaction (small files)."""
    started = time.monotonic()
    plan = ImportPlan(ctx.session, ctx.settings, project, uploads, import_settings(project_import), ctx.require_user().id)
    scan = plan.scan()
    task_ids: list[int] = []
    annotation_count = prediction_count = None
    if project_import.commit_to_project:
        if project_import.is_reimport:
            replaced = delete_tasks_of_uploads(ctx.session, project.id, project_import.file_upload_ids, project_import.id)
            if replaced:
                record(ctx, TASKS_DELETED, project_id=project.id, ids=replaced)
        annotation_count = prediction_count = 0
        for batch in plan.batches(size=ctx.settings.import_batch_size):
            ids, annotations, predictions = plan.write(ctx.session, batch, project_import.id)
            task_ids += ids
            annotation_count += annotations
            prediction_count += predictions
        ctx.session.expire(project, ["model_version"])
    return complete_import(
        ctx, project_import, task_count=scan.task_count, annotation_count=annotation_count,
        prediction_count=prediction_count, duration=time.monotonic() - started, task_ids=task_ids,
        found_formats=scan.found_formats, data_columns=scan.data_columns,
    )


@use_case(policy.TASKS_VIEW)
def get_import_status(ctx: Context, project_id: int, import_id: int) -> ProjectImport:
    """The import as GET .../imports/{pk}/ reports it. An import whose job failed without the
    handler recording it (gave up after repeated crashes, time limit) reads as failed."""
    project_import = get_project_import(ctx, project_id, import_id)
    if project_import.job_id is not None and project_import.status in ("created", "in_progress"):
        job = ctx.session.get(Job, project_import.job_id)
        if job is not None and job.status == FAILED:
            ctx.session.expunge(project_import)  # reported, not written
            project_import.status, project_import.error = "failed", job.error
    return project_import
