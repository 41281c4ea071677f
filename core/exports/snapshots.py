"""Export snapshots (Label Studio's /api/projects/{id}/exports/): a JSON export written by an "export"
job, converted to other formats by "export_convert" jobs, downloaded as files.

Files live under settings.data_dir / "export" / <project id>/."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from core import label_config as lc
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import NotFound, ValidationError
from core.events import record
from core.events.catalog import EXPORT_CONVERTED, EXPORT_CREATED, EXPORT_DELETED
from core.exports.convert import UNSUPPORTED_FORMATS, check_format
from core.exports.formats import ALL_FORMAT_NAMES
from core.exports.models import COMPLETED, CREATED, FAILED, IN_PROGRESS, ConvertedFormat, Export
from core.exports.media import organization_projects
from core.exports.snapshot_files import convert_snapshot_file
from core.jobs.service import start_job
from core.organizations.queries import MAX_ID
from core.projects.models import Project
from core.projects.queries import get_project
from core.timeutil import utcnow
from core.users.models import User
from core.validation import Input, parse_bool

EXPORT_JOB = "export"
CONVERT_JOB = "export_convert"
LIST_LIMIT = 100
CONVERTED_DIR = "converted"  # <project>/converted/<conversion id>/<file>
_CHOICES = ("only", "exclude")


def export_root(data_dir: Path) -> Path:
    return Path(data_dir) / "export"


@dataclass
class SnapshotView:
    """A snapshot with what its JSON shape needs."""
    export: Export
    created_by: User | None
    converted_formats: list[ConvertedFormat]


def _nested_error(errors: dict[str, Any]) -> ValidationError:
    error = ValidationError({})
    error.errors = errors  # DRF nests serializer errors: {"task_filter_options": {"skipped": [...]}}
    return error


def _parse_choice(data: dict, name: str, errors: dict) -> str | None:
    value = data.get(name)
    if value is None or value in _CHOICES:
        return value
    errors[name] = [f'"{value}" is not a valid choice.']
    return None


def _parse_flag(data: dict, name: str, errors: dict, default: bool | None, allow_null: bool = True) -> bool | None:
    if name not in data:
        return default
    value = data[name]
    if value is None and allow_null:
        return None
    parsed = parse_bool(value)
    if parsed is None:
        errors[name] = ["Must be a valid boolean."]
    return parsed


def parse_snapshot_options(body: Any) -> tuple[str | None, dict]:
    """(title, options) from a create body, checked as Label Studio's ExportCreateSerializer does."""
    data = Input(body if body is not None else {})
    title = data.string("title", allow_null=False, max_length=2048)
    data.done()
    errors: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for name in ("task_filter_options", "annotation_filter_options", "serialization_options"):
        value = data.data.get(name)
        if value is not None and not isinstance(value, dict):
            errors[name] = {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(value).__name__}."]}
            value = None
        raw[name] = value
    options: dict[str, Any] = {}
    if raw["task_filter_options"] is not None:
        given, problems = raw["task_filter_options"], {}
        view = given.get("view")
        if view is not None and (isinstance(view, bool) or not str(view).lstrip("-").isdigit()):
            problems["view"] = ["A valid integer is required."]
        options["task_filter_options"] = {
            "view": int(view) if view is not None and "view" not in problems else None,
            **{name: _parse_choice(given, name, problems) for name in ("skipped", "finished", "annotated")},
            "only_with_annotations": bool(_parse_flag(given, "only_with_annotations", problems, False, allow_null=False)),
        }
        if problems:
            errors["task_filter_options"] = problems
    if raw["annotation_filter_options"] is not None:
        given, problems = raw["annotation_filter_options"], {}
        options["annotation_filter_options"] = {
            "usual": _parse_flag(given, "usual", problems, True),
            "ground_truth": _parse_flag(given, "ground_truth", problems, None),
            "skipped": _parse_flag(given, "skipped", problems, None),
        }
        if problems:
            errors["annotation_filter_options"] = problems
    if raw["serialization_options"] is not None:
        given, problems = raw["serialization_options"], {}
        serialization: dict[str, Any] = {}
        for name in ("drafts", "predictions", "annotations__completed_by"):
            if name not in given:
                continue
            value = given[name]
            if not isinstance(value, dict):
                problems[name] = {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(value).__name__}."]}
                continue
            nested: dict[str, list[str]] = {}
            serialization[name] = {"only_id": bool(_parse_flag(value, "only_id", nested, False, allow_null=False))}
            if nested:
                problems[name] = nested
        for name in ("include_annotation_history", "interpolate_key_frames"):
            serialization[name] = bool(_parse_flag(given, name, problems, False, allow_null=False))
        options["serialization_options"] = serialization
        if problems:
            errors["serialization_options"] = problems
    if errors:
        raise _nested_error(errors)
    return title, options


def default_title(project: Project) -> str:
    return f"{project.title.replace(' ', '-')}-at-{utcnow().strftime('%Y-%m-%d-%H-%M')}"


@use_case(policy.EXPORTS_CREATE, emits=(EXPORT_CREATED,))
def create_snapshot(ctx: Context, project_id: int, body: Any) -> SnapshotView:
    """POST /api/projects/{id}/exports/: the snapshot row (in progress) and its export job."""
    project = get_project(ctx, project_id)
    title, options = parse_snapshot_options(body)
    view_id = (options.get("task_filter_options") or {}).get("view")
    if view_id is not None:
        from core.data_manager.models import View

        found = 0 < view_id <= MAX_ID and ctx.session.scalar(
            select(View.id).where(View.id == view_id, View.project_id == project.id)) is not None
        if not found:
            # Label Studio ignores a view it cannot find; so does the job.
            options["task_filter_options"]["view"] = None
    # Label Studio's export starts counting from zero; the job writes the final number.
    export = Export(project_id=project.id, created_by_id=ctx.require_user().id, title=title or default_title(project),
                    status=IN_PROGRESS, options=options, counters={"task_number": 0}, created_at=utcnow())
    ctx.session.add(export)
    ctx.session.flush()
    job = start_job(ctx, EXPORT_JOB, {"export_id": export.id}, project_id=project.id)
    export.job_id = job.id
    record(ctx, EXPORT_CREATED, project_id=project.id, ids=[export.id])
    return SnapshotView(export, ctx.user, [])


def _views(ctx: Context, exports: list[Export]) -> list[SnapshotView]:
    """One query per relation for a page of snapshots."""
    ids = [export.id for export in exports]
    conversions: dict[int, list[ConvertedFormat]] = {}
    if ids:
        for converted in ctx.session.scalars(
            select(ConvertedFormat).where(ConvertedFormat.export_id.in_(ids)).order_by(ConvertedFormat.id)
        ):
            conversions.setdefault(converted.export_id, []).append(converted)
    user_ids = {export.created_by_id for export in exports if export.created_by_id is not None}
    users = {user.id: user for user in ctx.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return [SnapshotView(export, users.get(export.created_by_id), conversions.get(export.id, [])) for export in exports]


@use_case(policy.EXPORTS_VIEW)
def list_snapshots(ctx: Context, project_id: int) -> list[SnapshotView]:
    """The project's latest snapshots, newest first (Label Studio lists at most 100)."""
    project = get_project(ctx, project_id)
    exports = list(ctx.session.scalars(
        select(Export).where(Export.project_id == project.id).order_by(Export.created_at.desc(), Export.id.desc()).limit(LIST_LIMIT)
    ))
    return _views(ctx, exports)


def _get_export(ctx: Context, project_id: int, export_id: int) -> Export:
    project = get_project(ctx, project_id)
    export = ctx.session.scalar(select(Export).where(Export.id == export_id, Export.project_id == project.id))
    if export is None:
        raise NotFound()
    return export


@use_case(policy.EXPORTS_VIEW)
def get_snapshot(ctx: Context, project_id: int, export_id: int) -> SnapshotView:
    return _views(ctx, [_get_export(ctx, project_id, export_id)])[0]


@use_case(policy.EXPORTS_CREATE, emits=(EXPORT_DELETED,))
def delete_snapshot(ctx: Context, project_id: int, export_id: int) -> None:
    """Deletes the snapshot, its conversions and their files (after the commit)."""
    export = _get_export(ctx, project_id, export_id)
    root = export_root(ctx.settings.data_dir)
    files = [export.file] + list(ctx.session.scalars(select(ConvertedFormat.file).where(ConvertedFormat.export_id == export.id)))
    ctx.session.execute(delete(ConvertedFormat).where(ConvertedFormat.export_id == export.id))
    ctx.session.delete(export)
    record(ctx, EXPORT_DELETED, project_id=export.project_id, ids=[export.id])

    def remove_files() -> None:
        for name in files:
            if name:
                path = root / name
                path.unlink(missing_ok=True)
                if path.parent.parent.name == CONVERTED_DIR:
                    shutil.rmtree(path.parent, ignore_errors=True)

    ctx.after_commit(remove_files)


@use_case(policy.EXPORTS_CREATE, emits=(EXPORT_CONVERTED,))
def convert_snapshot(ctx: Context, project_id: int, export_id: int, body: Any) -> ConvertedFormat:
    """POST .../convert: a conversion of the snapshot to `export_type`, run by a job."""
    export = _get_export(ctx, project_id, export_id)
    data = Input(body if body is not None else {})
    export_type = data.string("export_type", required=True, allow_null=False, allow_blank=False)
    download_resources = data.boolean("download_resources", default=False)
    data.done()
    if export_type not in ALL_FORMAT_NAMES:  # the formats Label Studio lists, enabled or not
        raise ValidationError({"export_type": [f"{export_type} is not supported export format"]})
    if export_type in UNSUPPORTED_FORMATS:
        raise ValidationError({"export_type": [f"{export_type} export is not available on this server"]})
    if export.status != COMPLETED:
        raise ValidationError({"export_type": ["The export snapshot is not completed yet"]})
    started = ctx.session.scalar(
        select(ConvertedFormat.id).where(ConvertedFormat.export_id == export.id, ConvertedFormat.export_type == export_type,
                                         ConvertedFormat.status != FAILED)
    )
    if started is not None:
        raise ValidationError(f"Conversion to {export_type} already started")
    converted = ConvertedFormat(export_id=export.id, project_id=export.project_id, created_by_id=ctx.require_user().id,
                                export_type=export_type, status=CREATED, download_resources=bool(download_resources))
    ctx.session.add(converted)
    ctx.session.flush()
    job = start_job(ctx, CONVERT_JOB, {"converted_format_id": converted.id}, project_id=export.project_id)
    converted.job_id = job.id
    record(ctx, EXPORT_CONVERTED, project_id=export.project_id, ids=[converted.id],
           data={"export_id": export.id, "export_type": export_type})
    return converted


@dataclass(frozen=True)
class SnapshotFile:
    path: Path
    name: str  # the Content-Disposition file name, as Label Studio names it
    content_type: str
    cleanup: Path | None = None  # a work folder to delete once the file is sent


@use_case(policy.EXPORTS_VIEW)
def snapshot_file(ctx: Context, project_id: int, export_id: int, export_type: str | None) -> SnapshotFile:
    """GET .../download: the snapshot's JSON, its finished conversion to `export_type`, or (like Label
    Studio 1.23.2 with its default flags) a conversion made now when none was asked for before."""
    export = _get_export(ctx, project_id, export_id)
    if export.status != COMPLETED or not export.file:
        raise NotFound("Export is not completed")
    root = export_root(ctx.settings.data_dir)
    source = root / export.file
    if not source.is_file():
        raise NotFound("Can't get file")
    if export_type is None or export_type == "JSON":
        return SnapshotFile(source, f"export/{export.project_id}/{source.name}", "application/json")
    converted = ctx.session.scalar(
        select(ConvertedFormat).where(ConvertedFormat.export_id == export.id, ConvertedFormat.export_type == export_type,
                                      ConvertedFormat.status == COMPLETED).order_by(ConvertedFormat.id.desc())
    )
    if converted is not None and converted.file and (root / converted.file).is_file():
        path = root / converted.file
        return SnapshotFile(path, path.name, f"application/{path.suffix.lstrip('.')}")
    check_format(export_type, "exportType")
    project = ctx.session.get(Project, export.project_id)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="download-", dir=root / "tmp"))
    try:
        packaged = convert_snapshot_file(source, export_type, lc.parsed_label_config(project.label_config), work,
                                         settings=ctx.settings, download_resources=False,
                                         upload_projects=organization_projects(ctx.session, project.id))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if packaged is None:
        shutil.rmtree(work, ignore_errors=True)
        raise NotFound("Can't get file")
    return SnapshotFile(packaged.path, source.stem + packaged.suffix, packaged.content_type, cleanup=work)
