"""The Data Manager's task list (GET /api/tasks/): a project's tasks through a saved view or an
ad-hoc query (filters, ordering, selectedItems), one page at a time."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import unquote

from sqlalchemy import select

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.data_manager.columns import COMPUTED_COLUMNS
from core.data_manager.filters import FILTER_PREFIX, bounded_regex_work, check_patterns_on_database, compile_filters
from core.data_manager.models import View
from core.data_manager.ordering import compile_ordering, parse_ordering_term
from core.data_manager.selection import selection_condition
from core.errors import NotFound, ValidationError
from core.pagination import PageRequest
from core.projects.models import Project
from core.tasks.queries import TaskPage, get_org_project, is_valid_id, list_tasks

ALL_TASKS = {"all": True, "excluded": []}
ROW_COLUMNS = frozenset({"completed_at"})


@dataclass
class TaskQuery:
    """What selects and orders the tasks: Label Studio's PrepareParams without the project."""

    filters: dict | None = None
    ordering: list[str] = field(default_factory=list)
    selected_items: dict | None = None
    data: dict = field(default_factory=dict)  # the view's data (hiddenColumns, ...)


def parse_query(raw: str | None) -> TaskQuery:
    """The `query` parameter: a (URL-encoded) JSON object with filters, ordering, selectedItems."""
    if raw in (None, ""):
        return TaskQuery(selected_items=ALL_TASKS)
    try:
        data = json.loads(unquote(raw))
    except ValueError as exc:
        raise ValidationError({"query": [f"query must be a JSON object: {exc}"]})
    if not isinstance(data, dict):
        raise ValidationError({"query": ["query must be a JSON object."]})
    selected = data.get("selectedItems", ALL_TASKS)
    if isinstance(selected, str):
        try:
            selected = json.loads(selected)
        except ValueError:
            raise ValidationError({"selectedItems": ["selectedItems must be JSON for {all, excluded|included}."]})
    ordering = data.get("ordering") or []
    if not isinstance(ordering, list):
        raise ValidationError({"ordering": ["ordering must be a list like ['-tasks:id']."]})
    return TaskQuery(filters=data.get("filters"), ordering=ordering, selected_items=selected, data=data)


def _view_query(ctx: Context, view_id: int) -> tuple[int, TaskQuery]:
    """The project and query of a saved view of the caller's organization."""
    if not is_valid_id(view_id):
        raise NotFound()
    view = ctx.session.execute(
        select(View).join(Project, Project.id == View.project_id).where(View.id == view_id, Project.organization_id == ctx.org_id)
    ).scalar_one_or_none()
    if view is None:
        raise NotFound()
    return view.project_id, TaskQuery(view.filters, list(view.ordering or []), view.selected_items, dict(view.data or {}))


def evaluated_columns(query: TaskQuery) -> set[str]:
    """Computed columns Label Studio evaluates for the page: those the filters or the ordering
    use, and those a view shows (not hidden in both of its modes)."""
    names: set[str] = set()
    if query.ordering:
        names.add(parse_ordering_term(query.ordering[0])[0])
    for item in (query.filters or {}).get("items") or []:
        if isinstance(item, dict) and isinstance(item.get("filter"), str) and item["filter"].startswith(FILTER_PREFIX):
            names.add(item["filter"][len(FILTER_PREFIX):])
    hidden = query.data.get("hiddenColumns") if isinstance(query.data, dict) else None
    if isinstance(hidden, dict):
        hidden_in_both = set(hidden.get("explore") or []) & set(hidden.get("labeling") or [])
        names |= {c for c in COMPUTED_COLUMNS if "tasks:" + c not in hidden_in_both}
    return names & COMPUTED_COLUMNS


@dataclass
class DataManagerPage:
    page: TaskPage
    evaluated: set[str]


@use_case(policy.TASKS_VIEW)
def list_data_manager_tasks(
    ctx: Context,
    *,
    project_id: int | None,
    view_id: int | None,
    query: TaskQuery,
    page: PageRequest,
    ids: list[int] | None = None,
    all_fields: bool = False,
) -> DataManagerPage:
    """A page of tasks as Label Studio's TaskListAPI selects them: the view's filters, ordering
    and selected items when a view is given (it must belong to the project), else the query's."""
    if view_id:
        view_project_id, view_task_query = _view_query(ctx, view_id)
        if project_id and view_project_id != project_id:
            raise ValidationError({"view": ["Project and View mismatch"]})
        project_id, query = view_project_id, view_task_query
    if not project_id:
        raise NotFound("Neither project nor view id specified")
    project = get_org_project(ctx, project_id)
    check_patterns_on_database(ctx.session, query.filters)
    conditions = [compile_filters(query.filters, project)]
    selected = selection_condition(query.selected_items)
    if selected is not None:
        conditions.append(selected)
    ordering = compile_ordering(query.ordering, project, query.data.get("columnsDisplayType"))
    evaluated = evaluated_columns(query)
    # completed_at is on the task row; the other computed columns need the related rows.
    needs_relations = all_fields or bool(evaluated - ROW_COLUMNS)
    with bounded_regex_work(ctx.session, query.filters):
        task_page = list_tasks(ctx, project, page, ids=ids, all_fields=needs_relations, conditions=conditions, ordering=ordering)
    return DataManagerPage(task_page, evaluated)
