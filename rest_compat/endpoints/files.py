"""Files tag: GET/PATCH/DELETE /api/import/file-upload/{id}, GET/DELETE
/api/projects/{id}/file-uploads, and GET /data/upload/<project_id>/<name> (the uploaded file)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from core.errors import DomainError, ValidationError
from core.files import service
from core.shapes.files import file_upload_json
from core.validation import parse_bool
from rest_compat.endpoints.imports import _run_with_files
from rest_compat.http import ApiRequest, _read_body, api, api_route, domain_error_response
from rest_compat.uploads import is_multipart, read_multipart, require_authentication


def _render(req: ApiRequest, upload) -> dict:
    return file_upload_json(upload, service.file_size(req.ctx, upload))


def get_view(req: ApiRequest):
    """Get a file upload: id, stored name, size."""
    return _render(req, service.get_file_upload(req.ctx, req.path["id"]))


def _patch_view(req: ApiRequest):
    form = req.request.state.form
    if form is not None:
        files = [incoming for name, incoming in form.files if name == "file"]
        new = files[0] if files else None
        return _render(req, service.replace_file_upload(req.ctx, req.path["id"], new))
    body = req.json(default={})
    if isinstance(body, dict) and "file" in body:
        raise ValidationError({"file": ["The submitted data was not a file. Check the encoding type on the form."]})
    return _render(req, service.replace_file_upload(req.ctx, req.path["id"], None))


async def patch_endpoint(request: Request) -> Response:
    """Replace the uploaded file (multipart "file")."""
    settings = request.app.state.settings
    form, body = None, b""
    try:
        if is_multipart(request):
            await require_authentication(request)
            form = await read_multipart(request, settings)
        else:
            body = await _read_body(request, settings.max_body_bytes)
    except DomainError as exc:
        return domain_error_response(exc, settings.version)
    return await _run_with_files(request, _patch_view, body, 200, form)


def delete_view(req: ApiRequest):
    """Delete a file upload and its file."""
    service.delete_file_upload(req.ctx, req.path["id"])


def list_view(req: ApiRequest):
    """List the caller's file uploads of the project (all=true, or ids=[...])."""
    all_uploads = parse_bool(req.query.get("all", "false")) or False
    uploads = service.list_file_uploads(req.ctx, req.path["id"], all_uploads=all_uploads, ids_param=req.query.getlist("ids"))
    return [_render(req, upload) for upload in uploads]


def delete_many_view(req: ApiRequest):
    """Delete file uploads of the project (file_upload_ids, or all)."""
    return {"deleted": service.delete_file_uploads(req.ctx, req.path["id"], req.json(default={}))}


def download_view(req: ApiRequest):
    """Download an uploaded file (members of the owning organization only)."""
    served = service.open_uploaded_file(req.ctx, req.path["filename"])
    # Never a document from our origin: no sniffing, scripts sandboxed, active types downloaded.
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
    disposition = "attachment" if served.active else "inline"
    return FileResponse(served.path, media_type=served.content_type, headers=headers,
                        content_disposition_type=disposition, filename=served.path.name)


routes = [
    *api_route("/api/import/file-upload/{id:int}", {
        "GET": api(get_view), "PATCH": patch_endpoint, "DELETE": api(delete_view),
    }),
    *api_route("/api/projects/{id:int}/file-uploads", {"GET": api(list_view), "DELETE": api(delete_many_view)}),
    *api_route("/data/upload/{filename:path}", {"GET": api(download_view)}),
]
