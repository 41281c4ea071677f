"""File uploads of a project: read, list, replace, delete, and find one to serve.

Scoped like everything else: an upload of a project outside the caller's organization is
NotFound. Files leave the disk only after the commit that deleted their rows."""
from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events import record
from core.events.catalog import FILE_UPLOADS_DELETED, FILE_UPLOADS_UPDATED
from core.files.models import FileUpload
from core.files.storage import UPLOAD_DIR, IncomingFile, remove_files, resolve_stored, store
from core.projects.models import Project
from core.tasks.models import Task
from core.tasks.queries import get_org_project, is_valid_id

# Types a browser would render as a document from our origin (and run its scripts): served
# as downloads in a sandbox, never inline.
ACTIVE_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"})


@use_case(policy.PROJECTS_VIEW)
def get_file_upload(ctx: Context, upload_id: int) -> FileUpload:
    if not is_valid_id(upload_id):
        raise NotFound()
    upload = ctx.session.scalar(
        select(FileUpload).join(Project, Project.id == FileUpload.project_id)
        .where(FileUpload.id == upload_id, Project.organization_id == ctx.org_id)
    )
    if upload is None:
        raise NotFound()
    return upload


@use_case(policy.PROJECTS_VIEW)
def file_size(ctx: Context, upload: FileUpload) -> int | None:
    """Size on disk (Label Studio reads it from the file); None when the file is gone."""
    path = resolve_stored(ctx.settings, upload.file)
    try:
        return path.stat().st_size if path is not None else None
    except OSError:
        return None


def _ids_param(raw_values: list[str]) -> list[int]:
    """Label Studio's ids=[1,2,3] query parameter (JSON); repeated ids=1&ids=2 (the SDK's form) too."""
    ids: list = []
    for raw in raw_values:
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValidationError({"ids": ["Expected a JSON list of ids, e.g. ids=[1,2,3]."]})
        ids.extend(value if isinstance(value, list) else [value])
    return [value for value in ids if is_valid_id(value)]


@use_case(policy.PROJECTS_VIEW)
def list_file_uploads(ctx: Context, project_id: int, *, all_uploads: bool, ids_param: list[str]) -> list[FileUpload]:
    """The caller's uploads in the project: all of them (all=true, or a draft project), else the
    ids asked for (Label Studio shows only what the current import dialog uploaded)."""
    user = ctx.require_user()
    project = get_org_project(ctx, project_id)
    query = select(FileUpload).where(FileUpload.project_id == project.id, FileUpload.user_id == user.id).order_by(FileUpload.id)
    if not (project.is_draft or all_uploads):
        query = query.where(FileUpload.id.in_(_ids_param(ids_param)))
    return list(ctx.session.scalars(query))


def _delete_uploads(ctx: Context, uploads: list[FileUpload]) -> int:
    paths = [path for upload in uploads if (path := resolve_stored(ctx.settings, upload.file)) is not None]
    if uploads:
        ids = [u.id for u in uploads]
        # Tasks made from them stay, without the link (Label Studio's SET NULL).
        ctx.session.execute(update(Task).where(Task.project_id == uploads[0].project_id, Task.file_upload_id.in_(ids))
                            .values(file_upload_id=None), execution_options={"synchronize_session": False})
        ctx.session.execute(delete(FileUpload).where(FileUpload.id.in_(ids)), execution_options={"synchronize_session": False})
        for upload in uploads:
            ctx.session.expunge(upload)
        record(ctx, FILE_UPLOADS_DELETED, project_id=uploads[0].project_id, ids=ids)
    ctx.after_commit(lambda: remove_files(paths))
    return len(uploads)


@use_case(policy.PROJECTS_CHANGE, emits=(FILE_UPLOADS_DELETED,))
def delete_file_uploads(ctx: Context, project_id: int, payload: Any) -> int:
    """DELETE /api/projects/{id}/file-uploads: the given ids (file_upload_ids), or all of them."""
    project = get_org_project(ctx, project_id)
    ids = payload.get("file_upload_ids") if isinstance(payload, dict) else None
    query = select(FileUpload).where(FileUpload.project_id == project.id)
    if ids is not None:
        if not isinstance(ids, list):
            raise ValidationError({"file_upload_ids": ['"file_upload_ids" parameter must be a list of integers']})
        query = query.where(FileUpload.id.in_([value for value in ids if is_valid_id(value)]))
    return _delete_uploads(ctx, list(ctx.session.scalars(query)))


@use_case(policy.PROJECTS_CHANGE, emits=(FILE_UPLOADS_DELETED,))
def delete_file_upload(ctx: Context, upload_id: int) -> None:
    _delete_uploads(ctx, [get_file_upload(ctx, upload_id)])


@use_case(policy.PROJECTS_CHANGE, emits=(FILE_UPLOADS_UPDATED,))
def replace_file_upload(ctx: Context, upload_id: int, incoming: IncomingFile | None) -> FileUpload:
    """PATCH /api/import/file-upload/{id}: a new file (multipart "file") is stored under a new
    name, as Label Studio does; the old file leaves the disk after the commit."""
    upload = get_file_upload(ctx, upload_id)
    if incoming is None:
        return upload
    old_path = resolve_stored(ctx.settings, upload.file)
    name = store(ctx, upload.project_id, incoming.path, incoming.name)
    upload.file, upload.size = name, incoming.size
    ctx.session.flush()
    record(ctx, FILE_UPLOADS_UPDATED, project_id=upload.project_id, ids=[upload.id])
    if old_path is not None:
        ctx.after_commit(lambda: remove_files([old_path]))
    return upload


@dataclass
class ServedFile:
    path: Path
    content_type: str
    active: bool  # rendered as a document by browsers: serve as a sandboxed download


@use_case(policy.TASKS_VIEW)
def open_uploaded_file(ctx: Context, filename: str) -> ServedFile:
    """GET /data/upload/<project_id>/<name>: only for members of the owning organization; any
    name that does not match an upload row under the upload root is NotFound."""
    ctx.require_user()
    stored_name = f"{UPLOAD_DIR}/{filename}"
    path = resolve_stored(ctx.settings, stored_name)
    if path is None:
        raise NotFound()
    upload = ctx.session.scalar(
        select(FileUpload.id).join(Project, Project.id == FileUpload.project_id)
        .where(FileUpload.file == stored_name, Project.organization_id == ctx.org_id).limit(1)
    )
    if upload is None or not path.is_file():
        raise NotFound()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return ServedFile(path, content_type, content_type in ACTIVE_CONTENT_TYPES)
