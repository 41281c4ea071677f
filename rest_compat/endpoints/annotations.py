"""Annotations: /api/tasks/{id}/annotations/, /api/annotations/{id}/, bulk create and bulk delete."""
from __future__ import annotations

from core.annotations import queries, service
from core.errors import ValidationError
from core.shapes.annotations import annotation_json
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route


def path_id(req: ApiRequest) -> int:
    return int(req.path["id"])


def _render(req: ApiRequest, annotations) -> list[dict]:
    authors = queries.authors_of(req.ctx.session, req.ctx.org_id, annotations, known=[req.ctx.user])
    return [annotation_json(annotation, authors) for annotation in annotations]


def list_task_annotations(req: ApiRequest) -> list[dict]:
    return _render(req, queries.list_task_annotations(req.ctx, path_id(req)))


def create_annotation(req: ApiRequest) -> dict:
    was_cancelled = None
    if "was_cancelled" in req.query:
        was_cancelled = parse_bool(req.query["was_cancelled"])
        if was_cancelled is None:
            raise ValidationError({"was_cancelled": ["Must be a valid boolean."]})
    annotation = service.create_annotation(req.ctx, path_id(req), req.json(default={}), was_cancelled=was_cancelled)
    return _render(req, [annotation])[0]


def get_annotation(req: ApiRequest) -> dict:
    return _render(req, [queries.get_annotation(req.ctx, path_id(req))])[0]


def update_annotation(req: ApiRequest) -> dict:
    return _render(req, [service.update_annotation(req.ctx, path_id(req), req.json(default={}))])[0]


def delete_annotation(req: ApiRequest) -> None:
    service.delete_annotation(req.ctx, path_id(req))


def bulk_create_annotations(req: ApiRequest) -> list[dict]:
    return [{"id": annotation_id} for annotation_id in service.bulk_create_annotations(req.ctx, req.json(default={}))]


def bulk_delete_annotations(req: ApiRequest) -> dict:
    return {"deleted_count": service.bulk_delete_annotations(req.ctx, req.json(default={}))}


routes = [
    *api_route(
        "/api/tasks/{id:int}/annotations/",
        {"GET": api(list_task_annotations), "POST": api(create_annotation, status=201)},
    ),
    *api_route("/api/annotations/bulk/", {"POST": api(bulk_create_annotations, status=201)}),
    *api_route("/api/annotations/bulk-delete/", {"POST": api(bulk_delete_annotations)}),
    *api_route(
        "/api/annotations/{id:int}/",
        {
            "GET": api(get_annotation),
            "PATCH": api(update_annotation),
            "PUT": api(update_annotation),
            "DELETE": api(delete_annotation),
        },
    ),
]
