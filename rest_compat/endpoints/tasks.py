"""/api/tasks/ — the `tasks` tag: list, create, read, update, delete, events; and
DELETE /api/projects/{id}/tasks/."""
from __future__ import annotations

from core.data_manager.task_list import list_data_manager_tasks, parse_query
from core.errors import NotFound, ValidationError
from core.shapes.tasks import dm_task_json, dm_task_json_evaluated, task_event_json, task_json, task_simple_json
from core.tasks import service
from core.tasks.queries import get_task_with_relations, load_task_relations
from rest_compat.http import ApiRequest, api, api_route, json_response

DEFAULT_PAGE_SIZE = 100  # Label Studio's TaskPagination; no maximum unless configured


def _ids(req: ApiRequest) -> list[int] | None:
    raw = req.query.getlist("ids") or req.query.getlist("ids[]")
    if not raw:
        return None
    try:
        return [int(part) for value in raw for part in value.split(",") if part.strip()]
    except ValueError:
        raise ValidationError({"ids": ["A valid integer is required."]})


def _sparse(req: ApiRequest):
    """A function that keeps the fields asked for with `include` and drops those in `omit`."""
    include, omit = req.flex_param("include"), set(req.flex_param("omit") or ())
    if include is None and not omit:
        return lambda body: body
    kept = set(include) if include is not None else None
    return lambda body: {k: v for k, v in body.items() if (kept is None or k in kept) and k not in omit}


def list_view(req: ApiRequest):
    project_id, view_id = req.int_param("project"), req.int_param("view")
    if not project_id and not view_id:
        # Label Studio answers exactly this, without its usual error envelope.
        return json_response({"detail": "Neither project nor view id specified"}, 404)
    page_request = req.page_request(default_page_size=DEFAULT_PAGE_SIZE)
    all_fields = req.query.get("fields") == "all"
    # `resolve_uri` only matters for storage links, which are not served here.
    result = list_data_manager_tasks(
        req.ctx,
        project_id=project_id,
        view_id=view_id,
        query=parse_query(req.query.get("query")),
        page=page_request,
        ids=_ids(req),
        all_fields=all_fields,
    )
    page, sparse = result.page, _sparse(req)
    if all_fields:
        rendered = [dm_task_json(task, page.project, page.relations) for task in page.tasks]
    else:
        rendered = [dm_task_json_evaluated(task, page.project, page.relations, result.evaluated) for task in page.tasks]
    return {
        "total_annotations": page.total_annotations,
        "total_predictions": page.total_predictions,
        "total": page.total,
        "tasks": [sparse(body) for body in rendered],
    }


def create_view(req: ApiRequest):
    return task_json(service.create_task(req.ctx, req.json()))


def _task_id(req: ApiRequest) -> int:
    try:
        return int(req.path["id"])
    except ValueError:
        raise NotFound()


def detail_view(req: ApiRequest):
    task, project, relations = get_task_with_relations(req.ctx, _task_id(req))
    return _sparse(req)(dm_task_json(task, project, relations, detail=True))


def update_view(req: ApiRequest):
    task = service.update_task(req.ctx, _task_id(req), req.json(default={}))
    return task_simple_json(task, load_task_relations(req.ctx, [task]))


def delete_view(req: ApiRequest):
    service.delete_task(req.ctx, _task_id(req))


def create_event_view(req: ApiRequest):
    return task_event_json(service.create_task_event(req.ctx, req.path["id"], req.json()))


def delete_all_view(req: ApiRequest):
    service.delete_all_tasks(req.ctx, req.path["id"])


routes = [
    *api_route("/api/tasks/", {"GET": api(list_view), "POST": api(create_view, status=201)}),
    *api_route(
        "/api/tasks/{id}/",
        {"GET": api(detail_view), "PATCH": api(update_view), "DELETE": api(delete_view)},
    ),
    *api_route("/api/tasks/{id:int}/events/", {"POST": api(create_event_view, status=201)}),
    *api_route("/api/projects/{id:int}/tasks/", {"DELETE": api(delete_all_view)}),
]
