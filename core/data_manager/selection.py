"""A Data Manager selection: filters + ordering + selectedItems -> the chosen task ids."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from core.context import Context


def resolve_selection(
    ctx: Context,
    project_id: int,
    filters: dict[str, Any] | None,
    ordering: list[str] | None,
    selected_items: dict[str, Any] | None,
) -> Select:
    """SELECT tasks.id of the project's tasks that match `filters` and `selected_items`
    ({"all": true, "excluded": [...]} or {"all": false, "included": [...]}), in `ordering`.
    Checks that the project belongs to the caller's organization (NotFound otherwise)."""
    raise NotImplementedError
