"""Exports: the synchronous ("easy") export GET /api/projects/{id}/export, its formats, and export
snapshots (/api/projects/{id}/exports/...) written and converted by jobs."""
from __future__ import annotations

import shutil

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, StreamingResponse

from core.errors import ValidationError
from core.exports import ExportOptions, export_formats, plan_export
from core.exports.json_export import prepare_export
from core.exports.snapshots import (
    convert_snapshot,
    create_snapshot,
    delete_snapshot,
    get_snapshot,
    list_snapshots,
    snapshot_file,
)
from core.shapes.exports import created_snapshot_json, snapshot_json
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route


def _export_options(req: ApiRequest) -> ExportOptions:
    query = req.query
    errors: dict[str, list[str]] = {}
    flags = {}
    # Label Studio's defaults: CONVERTER_DOWNLOAD_RESOURCES is on, INTERPOLATE_KEY_FRAMES off.
    defaults = {"download_all_tasks": False, "download_resources": True, "interpolate_key_frames": False}
    for name, default in defaults.items():
        raw = query.get(name)
        flags[name] = default if raw is None else parse_bool(raw)
        if flags[name] is None:
            errors[name] = ["Must be a valid boolean."]
    raw_ids = [part for value in (query.getlist("ids[]") or query.getlist("ids")) for part in value.split(",") if part.strip()]
    task_ids = None
    if raw_ids:
        try:
            task_ids = tuple(int(part) for part in raw_ids)
        except ValueError:
            errors["ids"] = ["A valid integer is required."]
    if errors:
        raise ValidationError(errors)
    return ExportOptions(
        export_type=query.get("exportType") or query.get("export_type") or "JSON",
        download_all_tasks=flags["download_all_tasks"],
        download_resources=flags["download_resources"],
        task_ids=task_ids,
        interpolate_key_frames=flags["interpolate_key_frames"],
    )


def export_view(req: ApiRequest):
    plan = plan_export(req.ctx, req.path["id"], _export_options(req))
    prepared = prepare_export(req.request.app.state.session_factory, plan)
    headers = {"Content-Disposition": f'attachment; filename="{prepared.filename}"', "filename": prepared.filename}
    return StreamingResponse(prepared.chunks, media_type=prepared.content_type, headers=headers)


def formats_view(req: ApiRequest):
    return export_formats(req.ctx, req.path["id"])


def list_snapshots_view(req: ApiRequest):
    return [snapshot_json(view) for view in list_snapshots(req.ctx, req.path["id"])]


def create_snapshot_view(req: ApiRequest):
    return created_snapshot_json(create_snapshot(req.ctx, req.path["id"], req.json(default={})))


def get_snapshot_view(req: ApiRequest):
    return snapshot_json(get_snapshot(req.ctx, req.path["id"], req.path["export_pk"]))


def delete_snapshot_view(req: ApiRequest):
    delete_snapshot(req.ctx, req.path["id"], req.path["export_pk"])


def convert_view(req: ApiRequest):
    converted = convert_snapshot(req.ctx, req.path["id"], req.path["export_pk"], req.json(default={}))
    return {"export_type": converted.export_type, "converted_format": converted.id}


def download_view(req: ApiRequest):
    found = snapshot_file(req.ctx, req.path["id"], req.path["export_pk"], req.query.get("exportType"))
    headers = {"Content-Disposition": f'attachment; filename="{found.name}"', "filename": found.name.rsplit("/", 1)[-1]}
    cleanup = BackgroundTask(shutil.rmtree, found.cleanup, ignore_errors=True) if found.cleanup else None
    return FileResponse(found.path, media_type=found.content_type, headers=headers, background=cleanup)


routes = [
    *api_route("/api/projects/{id:int}/export", {"GET": api(export_view)}),
    *api_route("/api/projects/{id:int}/export/formats", {"GET": api(formats_view)}),
    *api_route("/api/projects/{id:int}/exports/", {"GET": api(list_snapshots_view), "POST": api(create_snapshot_view, status=201)}),
    *api_route("/api/projects/{id:int}/exports/{export_pk:int}", {"GET": api(get_snapshot_view), "DELETE": api(delete_snapshot_view, status=204)}),
    *api_route("/api/projects/{id:int}/exports/{export_pk:int}/convert", {"POST": api(convert_view)}),
    *api_route("/api/projects/{id:int}/exports/{export_pk:int}/download", {"GET": api(download_view)}),
]
