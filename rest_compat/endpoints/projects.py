"""/api/projects/ — the `projects` tag (imports live in their own module)."""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl

from core.projects import service
from core.projects.model_versions import ModelVersionParams, project_model_versions
from core.projects.queries import (
    COUNTER_FIELDS,
    QUEUE_FIELDS,
    ProjectFilters,
    config_suitable_for_bulk_annotation,
    get_project,
    list_projects,
    project_annotators,
    project_counters,
    users_by_ids,
)
from core.shapes.projects import (
    model_versions,
    project_counts,
    project_created,
    project_detail,
    project_list_item,
    project_updated,
    sparse,
)
from core.shapes.users import user_simple
from rest_compat.http import ApiRequest, api, api_route, paginated

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 100  # Label Studio's ProjectListPagination


def _body(req: ApiRequest):
    """JSON, or a form as Label Studio's FormParser reads it (one value per field)."""
    if req.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return req.json(default={})


def _counter_fields(include: list[str] | None) -> list[str]:
    every = (*COUNTER_FIELDS, *QUEUE_FIELDS)
    return list(every) if include is None else [name for name in every if name in include]


def _render(req: ApiRequest, projects, shape, include, omit) -> list[dict]:
    """Counters and creators of all `projects` in a constant number of statements."""
    session, user = req.ctx.session, req.ctx.require_user()
    counters = project_counters(session, [p.id for p in projects], user_id=user.id, fields=_counter_fields(include))
    needs_creator = include is None or "created_by" in include
    creators = users_by_ids(session, [p.created_by_id for p in projects]) if needs_creator else {}
    return [
        sparse(shape(project, counters[project.id], creators.get(project.created_by_id),
                     config_suitable_for_bulk_annotation(project.label_config)), include, omit)
        for project in projects
    ]


def list_view(req: ApiRequest):
    page = req.page_request(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    projects, total = list_projects(req.ctx, ProjectFilters.parse(req.query), page)
    items = _render(req, projects, project_list_item, req.flex_param("include"), req.flex_param("omit"))
    return paginated(req, items, total, page)


def create_view(req: ApiRequest):
    project = service.create_project(req.ctx, _body(req))
    user = req.ctx.require_user()
    return project_created(project, {}, user, config_suitable_for_bulk_annotation(project.label_config))


def counts_view(req: ApiRequest):
    page = req.page_request(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    # Label Studio's counts list has no pinned filter and no ordering parameter: it goes by id.
    filters = replace(ProjectFilters.parse(req.query), pinned="all", ordering=["id"])
    projects, total = list_projects(req.ctx, filters, page)
    include = req.flex_param("include")
    counters = project_counters(
        req.ctx.session, [p.id for p in projects], user_id=req.ctx.require_user().id, fields=_counter_fields(include)
    )
    items = [sparse(project_counts(p.id, counters[p.id]), include, req.flex_param("omit")) for p in projects]
    return paginated(req, items, total, page)


def _one(req: ApiRequest, project, shape) -> dict:
    return _render(req, [project], shape, req.flex_param("include"), req.flex_param("omit"))[0]


def detail_view(req: ApiRequest):
    return _one(req, get_project(req.ctx, req.path["id"]), project_detail)


def update_view(req: ApiRequest):
    project = service.update_project(req.ctx, req.path["id"], _body(req))
    return _one(req, project, project_updated)


def delete_view(req: ApiRequest):
    service.delete_project(req.ctx, req.path["id"])
    return None


def annotators_view(req: ApiRequest):
    return [user_simple(user) for user in project_annotators(req.ctx, req.path["id"])]


def validate_view(req: ApiRequest):
    config, changed = service.validate_project_config(req.ctx, req.path["id"], _body(req))
    # Label Studio answers only `config_essential_data_has_changed` (true, or null when unchanged);
    # the spec's ProjectLabelConfig also names the config.
    return {"label_config": config, "config_essential_data_has_changed": True if changed else None}


def model_versions_view(req: ApiRequest):
    return model_versions(project_model_versions(req.ctx, req.path["id"], ModelVersionParams.parse(req.query)))


routes = [
    *api_route("/api/projects/", {"GET": api(list_view), "POST": api(create_view, status=201)}),
    *api_route("/api/projects/counts/", {"GET": api(counts_view)}),
    *api_route(
        "/api/projects/{id:int}/",
        {"GET": api(detail_view), "PATCH": api(update_view), "PUT": api(update_view), "DELETE": api(delete_view)},
    ),
    *api_route("/api/projects/{id:int}/annotators/", {"GET": api(annotators_view)}),
    *api_route("/api/projects/{id:int}/validate/", {"POST": api(validate_view)}),
    # Not in the spec; Label Studio's frontend and label-studio-sdk call it.
    *api_route("/api/projects/{id:int}/model-versions/", {"GET": api(model_versions_view)}),
]
