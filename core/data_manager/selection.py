"""A Data Manager selection: filters + ordering + selectedItems -> the chosen task ids."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.data_manager.filters import check_patterns_on_database, compile_filters
from core.data_manager.ordering import compile_ordering
from core.errors import ValidationError
from core.projects.models import Project
from core.tasks.models import Task
from core.tasks.queries import get_org_project, is_valid_id


def selection_condition(selected_items: dict[str, Any] | None):
    """The condition of `selectedItems`: {"all": true, "excluded": [...]} keeps every task but
    the excluded; {"all": false, "included": [...]} only the included. None selects all."""
    if selected_items is None:
        return None
    if not isinstance(selected_items, dict) or not isinstance(selected_items.get("all"), bool):
        raise ValidationError({"selectedItems": ['selectedItems must be {"all": true|false, "excluded"|"included": [task ids]}.']})
    key = "excluded" if selected_items["all"] else "included"
    ids = selected_items.get(key) or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationError({"selectedItems": [f"selectedItems.{key} must be a list of task ids."]})
    valid = [i for i in ids if is_valid_id(i)]
    if selected_items["all"]:
        return Task.id.not_in(valid) if valid else None
    # As Label Studio's TaskQuerySet.prepared: an empty inclusion list does not filter. A list of
    # ids that name no task selects nothing (not everything: actions delete what is selected).
    if ids and not valid:
        return false()
    return Task.id.in_(valid) if valid else None


@use_case(policy.TASKS_VIEW)
def resolve_selection(
    ctx: Context,
    project_id: int,
    filters: dict[str, Any] | None,
    ordering: list[str] | None,
    selected_items: dict[str, Any] | None,
) -> Select:
    """`task_selection` in a project of the caller's organization (NotFound for any other)."""
    return task_selection(ctx.session, get_org_project(ctx, project_id), filters, ordering, selected_items)


def task_selection(
    session: Session,
    project: Project,
    filters: dict[str, Any] | None,
    ordering: list[str] | None,
    selected_items: dict[str, Any] | None,
) -> Select:
    """SELECT tasks.id of the project's tasks that match `filters` and `selected_items`
    ({"all": true, "excluded": [...]} or {"all": false, "included": [...]}), in `ordering`.
    For callers that hold the project already (an action that checked it, its job)."""
    check_patterns_on_database(session, filters)
    conditions = [Task.project_id == project.id, compile_filters(filters, project)]
    selected = selection_condition(selected_items)
    if selected is not None:
        conditions.append(selected)
    return select(Task.id).where(*conditions).order_by(*compile_ordering(ordering, project))
