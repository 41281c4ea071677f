"""Data Manager views (tabs): list, create, update, delete, reorder, reset.

Label Studio's ViewSerializer takes `data.filters` and `data.ordering` out of `data` (into a
FilterGroup and `ordering`) and merges them back when rendering; the same split is kept here
(see core.data_manager.models.View). Its quirks that clients observe are kept too: a view created
with filters is put last (`order` = number of views), an update replaces `data`, replaces the
filters only when a conjunction is given, and keeps the old ordering when the new one is empty.
In Label Studio Community every member of the organization may manage views."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.data_manager.filters import compile_filters
from core.data_manager.models import View
from core.data_manager.ordering import compile_ordering
from core.errors import NotFound, ValidationError
from core.events import record
from core.events.catalog import VIEWS_CREATED, VIEWS_DELETED, VIEWS_UPDATED
from core.projects.models import Project
from core.tasks.queries import is_valid_id
from core.timeutil import utcnow
from core.validation import Input

FILTER_PREFIX = "filter:tasks:"
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."
VIEW_NOT_FOUND = "No View matches the given query."
PROJECT_NOT_FOUND = "No Project matches the given query."


def nested_validation_error(errors: dict[str, Any]) -> ValidationError:
    """A ValidationError whose messages keep Django REST framework's nesting
    ({"filter_group": {"filters": [{"column": [...]}]}}, {"ids": {"0": [...]}})."""
    error = ValidationError({})
    error.errors = errors
    return error


# ---------------------------------------------------------------- reads


@use_case(policy.VIEWS_VIEW)
def get_view(ctx: Context, view_id: Any) -> View:
    """A view of a project of the caller's organization; NotFound for any other."""
    if not is_valid_id(view_id):
        raise NotFound(VIEW_NOT_FOUND)
    view = ctx.session.scalar(
        select(View).join(Project, Project.id == View.project_id).where(View.id == view_id, Project.organization_id == ctx.org_id)
    )
    if view is None:
        raise NotFound(VIEW_NOT_FOUND)
    return view


@use_case(policy.VIEWS_VIEW)
def list_views(ctx: Context, project_id: Any = None) -> list[View]:
    """Views of the organization's projects (of one project when `project_id` is given), by
    tab order then id. `project_id` is the raw query value: a bad or foreign one is a 400, like
    Label Studio's filter over projects."""
    query = select(View).join(Project, Project.id == View.project_id).where(Project.organization_id == ctx.org_id)
    if project_id not in (None, ""):
        project = _project_choice(ctx, project_id)
        query = query.where(View.project_id == project.id)
    return list(ctx.session.scalars(query.order_by(View.order, View.id)))


def _project_choice(ctx: Context, raw: Any) -> Project:
    try:
        project_id = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({"project": [INVALID_CHOICE]})
    project = _org_project(ctx, project_id)
    if project is None:
        raise ValidationError({"project": [INVALID_CHOICE]})
    return project


def _org_project(ctx: Context, project_id: int) -> Project | None:
    if not is_valid_id(project_id):
        return None
    return ctx.session.scalar(select(Project).where(Project.id == project_id, Project.organization_id == ctx.org_id))


def _project_pk(ctx: Context, body: Input, name: str = "project", *, required: bool = True) -> Project | None:
    """A primary-key field naming a project of the caller's organization (DRF's messages;
    a project of another organization does not exist)."""
    if name not in body.data:
        if required:
            body.error(name, "This field is required.")
        return None
    value = body.data[name]
    if value is None:
        body.error(name, "This field may not be null.")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        body.error(name, f"Incorrect type. Expected pk value, received {type(value).__name__}.")
        return None
    try:
        project_id = int(value)
    except ValueError:
        body.error(name, f"Incorrect type. Expected pk value, received {type(value).__name__}.")
        return None
    project = _org_project(ctx, project_id)
    if project is None:
        body.error(name, f'Invalid pk "{value}" - object does not exist.')
    return project


# ---------------------------------------------------------------- input


def _check_filter_item(item: Any) -> dict[str, list[str]]:
    """Label Studio's FilterSerializer checks of one filter (column prefix, no "__" lookups
    outside task data, non-blank operator and type)."""
    if not isinstance(item, dict):
        return {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(item).__name__}."]}
    errors: dict[str, list[str]] = {}
    for field in ("filter", "operator", "type"):
        value = item.get(field, "")
        name = "column" if field == "filter" else field
        if not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        elif not value.strip():
            errors[name] = ["This field may not be blank."]
        elif len(value) > 1024:
            errors[name] = ["Ensure this field has no more than 1024 characters."]
    column = item.get("filter")
    if "column" not in errors and isinstance(column, str):
        if not column.startswith(FILTER_PREFIX):
            errors["column"] = [f'Filter "{column}" should start with "{FILTER_PREFIX}"']
        else:
            name = column[len(FILTER_PREFIX):].removeprefix("-")
            if not name.startswith("data.") and "__" in name:
                errors["column"] = [
                    f'"__" is not generally allowed in filters. Consider asking your administrator to add "{name}" '
                    "to DATA_MANAGER_FILTER_ALLOWLIST, but note that some filter expressions may pose a security risk"
                ]
    child = item.get("child_filter")
    if child is not None:
        child_errors = _check_filter_item(child)
        if child_errors:
            errors["child_filter"] = child_errors  # type: ignore[assignment]
    return errors


def _normalized_filter(item: dict) -> dict:
    """A filter as Label Studio re-renders it from its Filter rows."""
    normalized = {
        "filter": item.get("filter", ""),
        "operator": item.get("operator", ""),
        "type": item.get("type", ""),
        "value": item.get("value", {}),
    }
    if item.get("child_filter"):
        child = item["child_filter"]
        normalized["child_filter"] = {key: child.get(key, {} if key == "value" else "") for key in ("filter", "operator", "type", "value")}
    return normalized


def _filters_from_group(group: Any) -> dict | None:
    """Top-level `filter_group` ({"conjunction", "filters": [{"column", ...}]}) in the items form."""
    if not isinstance(group, dict):
        raise nested_validation_error({"filter_group": {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(group).__name__}."]}})

    def item(source: Any) -> Any:
        if not isinstance(source, dict):
            return source
        converted = {"filter": source.get("column", ""), "operator": source.get("operator", ""), "type": source.get("type", ""),
                     "value": source.get("value", {})}
        if source.get("child_filter"):
            converted["child_filter"] = item(source["child_filter"])
        return converted

    filters = group.get("filters", [])
    return {"conjunction": group.get("conjunction"), "items": [item(f) for f in filters] if isinstance(filters, list) else filters}


def _read_filters(ctx: Context, filters: Any, project: Project | None) -> dict | None:
    """`data.filters` -> the stored filter group, or None when Label Studio would store none
    (no conjunction). Raises ValidationError in Label Studio's shape; then lets the filter engine
    refuse unknown columns and operators."""
    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise nested_validation_error({"filter_group": {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(filters).__name__}."]}})
    conjunction = filters.get("conjunction")
    if not conjunction:
        return None
    if not isinstance(conjunction, str) or len(conjunction) > 1024:
        raise nested_validation_error({"filter_group": {"conjunction": ["Not a valid string."]}})
    items = filters.get("items", [])
    if not isinstance(items, list):
        raise nested_validation_error({"filter_group": {"filters": {"non_field_errors": [f'Expected a list of items but got type "{type(items).__name__}".']}}})
    item_errors = [_check_filter_item(item) for item in items]
    if any(item_errors):
        raise nested_validation_error({"filter_group": {"filters": item_errors}})
    normalized = {"conjunction": conjunction, "items": [_normalized_filter(item) for item in items]}
    if project is not None:
        compile_filters(normalized, project)
    return normalized


def _read_ordering(ordering: Any, project: Project | None) -> list | None:
    """`data.ordering` (Label Studio stores an empty one as none); unknown columns are refused."""
    if ordering in (None, {}, []):
        return None
    if not isinstance(ordering, list) or not all(isinstance(name, str) for name in ordering):
        raise ValidationError({"ordering": ["Ordering must be a list of column names such as \"-tasks:id\"."]})
    if project is not None:
        compile_ordering(ordering, project)
    return ordering


def _read_view_body(ctx: Context, payload: Any, *, project_required: bool, view_project: Project | None = None) -> dict[str, Any]:
    """Everything a create/update body can set, validated before any write. Filters are checked
    against `view_project` (an existing view's own project) or else the body's project."""
    body = Input(payload)
    project = _project_pk(ctx, body, required=project_required)
    data = body.dict_("data", allow_null=False)
    order = body.integer("order", allow_null=True, min_value=-(2**31), max_value=2**31 - 1)
    selected_items = body.dict_("selected_items", allow_null=True)
    body.done()
    values: dict[str, Any] = {"project": project, "has_data": data is not None}
    data = dict(data) if data is not None else {}
    raw_filters = data.pop("filters", None)
    raw_ordering = data.pop("ordering", None)
    values["data"] = data
    values["ordering"] = _read_ordering(raw_ordering, view_project or project)
    if "filter_group" in body.data:
        raw_filters = _filters_from_group(body.data["filter_group"])
    values["filters"] = _read_filters(ctx, raw_filters, view_project or project)
    values["order"] = order
    values["selected_items"] = selected_items
    return values


# ---------------------------------------------------------------- writes


@use_case(policy.VIEWS_CHANGE, emits=(VIEWS_CREATED,))
def create_view(ctx: Context, payload: Any) -> View:
    user = ctx.require_user()
    values = _read_view_body(ctx, payload, project_required=True)
    project: Project = values["project"]
    order = values["order"] if values["order"] is not None else 0
    if values["filters"] is not None:
        # Label Studio appends a view created with filters after the existing ones.
        order = ctx.session.scalar(select(func.count(View.id)).where(View.project_id == project.id))
    now = utcnow()
    view = View(
        project_id=project.id,
        user_id=user.id,
        order=order,
        data=values["data"],
        filters=values["filters"],
        ordering=values["ordering"],
        selected_items=values["selected_items"] or None,
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(view)
    ctx.session.flush()
    record(ctx, VIEWS_CREATED, project_id=project.id, ids=[view.id])
    return view


@use_case(policy.VIEWS_CHANGE, emits=(VIEWS_UPDATED,))
def update_view(ctx: Context, view_id: Any, payload: Any, *, partial: bool = True) -> View:
    """PATCH (partial) or PUT /api/dm/views/{id}/. Only filters, ordering and data change,
    as in Label Studio (the project, order and selected items of a view stay)."""
    view = get_view(ctx, view_id)
    project = ctx.session.get(Project, view.project_id)
    values = _read_view_body(ctx, payload, project_required=not partial, view_project=project)
    if values["filters"] is not None:
        view.filters = values["filters"]
    if values["ordering"] and values["ordering"] != view.ordering:
        view.ordering = values["ordering"]
    if values["has_data"]:
        view.data = values["data"]
    view.updated_at = utcnow()
    ctx.session.flush()
    record(ctx, VIEWS_UPDATED, project_id=view.project_id, ids=[view.id])
    return view


@use_case(policy.VIEWS_CHANGE, emits=(VIEWS_DELETED,))
def delete_view(ctx: Context, view_id: Any) -> None:
    view = get_view(ctx, view_id)
    ctx.session.delete(view)
    ctx.session.flush()
    record(ctx, VIEWS_DELETED, project_id=view.project_id, ids=[view.id])


@use_case(policy.VIEWS_CHANGE, emits=(VIEWS_UPDATED,))
def reorder_views(ctx: Context, payload: Any) -> None:
    """POST /api/dm/views/order/: the position of each listed view of the project becomes its
    index in `ids`; unknown ids are ignored, unlisted views keep their order."""
    body = Input(payload)
    project_id = body.integer("project", required=True, max_value=2**31 - 1)
    ids = body.list_("ids", required=True, allow_null=False)
    if ids is not None:
        bad = {str(index): ["A valid integer is required."] for index, value in enumerate(ids)
               if isinstance(value, bool) or not isinstance(value, int)}
        if bad:
            body.errors["ids"] = bad  # type: ignore[assignment]
    if body.errors:
        raise nested_validation_error(body.errors)
    project = _org_project(ctx, project_id)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    wanted = {view_id: position for position, view_id in enumerate(ids) if is_valid_id(view_id)}
    if not wanted:
        return
    existing = ctx.session.scalars(
        select(View.id).where(View.project_id == project.id, View.id.in_(list(wanted))).order_by(View.id)
    ).all()
    if existing:
        ctx.session.execute(
            update(View),
            [{"id": view_id, "order": wanted[view_id]} for view_id in existing],
        )
        record(ctx, VIEWS_UPDATED, project_id=project.id, ids=existing)


@use_case(policy.VIEWS_CHANGE, emits=(VIEWS_DELETED,))
def reset_views(ctx: Context, payload: Any, query_project: Any) -> int:
    """DELETE /api/dm/views/reset/: delete every view of the project named in the body, or
    else in the query string. Returns how many were deleted."""
    source = payload if isinstance(payload, dict) and "project" in payload else {"project": query_project}
    body = Input(source)
    project = _project_pk(ctx, body)
    body.done()
    deleted = ctx.session.scalars(
        delete(View).where(View.project_id == project.id).returning(View.id), execution_options={"synchronize_session": False}
    ).all()
    if deleted:
        record(ctx, VIEWS_DELETED, project_id=project.id, ids=sorted(deleted))
    return len(deleted)
