"""GET /api/projects/{id}/export — Label Studio's synchronous ("easy") export, streamed — and its formats."""
from __future__ import annotations

from starlette.responses import StreamingResponse

from core.errors import ValidationError
from core.exports import ExportOptions, export_formats, plan_export
from core.exports.json_export import prepare_export
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route


def _export_options(req: ApiRequest) -> ExportOptions:
    query = req.query
    errors: dict[str, list[str]] = {}
    flags = {}
    for name in ("download_all_tasks", "download_resources", "interpolate_key_frames"):
        raw = query.get(name)
        flags[name] = False if raw is None else parse_bool(raw)
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
    )


def export_view(req: ApiRequest):
    plan = plan_export(req.ctx, req.path["id"], _export_options(req))
    prepared = prepare_export(req.request.app.state.session_factory, plan)
    headers = {"Content-Disposition": f'attachment; filename="{prepared.filename}"', "filename": prepared.filename}
    return StreamingResponse(prepared.chunks, media_type=prepared.content_type, headers=headers)


def formats_view(req: ApiRequest):
    return export_formats(req.ctx, req.path["id"])


routes = [
    *api_route("/api/projects/{id:int}/export", {"GET": api(export_view)}),
    *api_route("/api/projects/{id:int}/export/formats", {"GET": api(formats_view)}),
]
