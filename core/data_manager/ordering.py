"""Data Manager ordering (`["-tasks:completed_at", ...]`) compiled to ORDER BY clauses.

As in Label Studio 1.23.2 (managers.apply_ordering): only the first term orders, NULLs come last
in both directions, ties fall back to the task id (ascending, as Label Studio's SQLite lists
them). A task data field orders numbers first (by value), then the other values by their text,
tasks without the key last.

created_at and updated_at ties fall back to the id in the sort's direction: tasks imported
together share one timestamp here, where Label Studio stamps each row a little later than the
one before, so "-created_at" lists the latest task first in both."""
from __future__ import annotations

from typing import Any

from sqlalchemy import case

from core.data_manager.columns import (
    DATA_PREFIX, DATA_UNDEFINED_NAME, binary_order, data_key_path, json_key_number, json_key_sort_number, json_key_text,
    task_column, undefined_alias,
)
from core.errors import ValidationError
from core.projects.models import Project
from core.tasks.models import Task

ORDERING_PREFIX = "tasks:"
# Columns whose equal values come from one batch write (see the module docstring).
BATCH_TIMESTAMPS = frozenset({"created_at", "updated_at"})


def parse_ordering_term(term: Any) -> tuple[str, bool]:
    """'-tasks:completed_at' -> ('completed_at', descending=True)."""
    if not isinstance(term, str):
        raise ValidationError({"ordering": [f"Ordering terms are strings like '-tasks:id', got {term!r}."]})
    descending = term.startswith("-")
    name = term[1:] if descending else term
    for prefix in ("filter:", ORDERING_PREFIX):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if not descending and name.startswith("-"):
        descending, name = True, name[1:]
    if "__" in name and not name.startswith(DATA_PREFIX):
        raise ValidationError({"ordering": ['"__" is not generally allowed in ordering.']})
    return name, descending


def compile_ordering(
    ordering: list[str] | None, project: Project | None = None, display_types: dict[str, str] | None = None
) -> list[Any]:
    """ORDER BY clauses over `tasks`, Label Studio's order (nulls last, ties by id).
    `project` scopes project-dependent columns (predictions_score and the project's model version).
    `display_types`: a view's `columnsDisplayType` ({"tasks:data.n": "Number"}); a data field shown
    as a Number orders by its value read as a number, as Label Studio does."""
    if ordering is None:
        return [Task.id]
    if not isinstance(ordering, list):
        raise ValidationError({"ordering": ["ordering must be a list like ['-tasks:id']."]})
    if not ordering:
        return [Task.id]
    name, descending = parse_ordering_term(ordering[0])
    if name.startswith(DATA_PREFIX):
        keys = data_key_path(name)
        alias = undefined_alias(project, keys)

        def read(reader):
            if alias is None:
                return reader(Task.data, keys)
            return case((alias, reader(Task.data, (DATA_UNDEFINED_NAME,))), else_=reader(Task.data, keys))

        if isinstance(display_types, dict) and display_types.get(ordering[0].lstrip("-+")) == "Number":
            number = read(json_key_number)
            return [(number.desc() if descending else number.asc()).nulls_last(), Task.id]
        text = read(json_key_text)
        number = read(json_key_sort_number)
        # Buckets: numbers, then text values; missing keys last in both directions.
        bucket = case((text.is_(None), 2), (number.is_not(None), 0), else_=1)
        direction = (lambda e: e.desc()) if descending else (lambda e: e.asc())
        bucket_order = case((text.is_(None), 2), (number.is_not(None), 1), else_=0) if descending else bucket
        # Equal numbers tie (12 and 12.0), as in SQLite: the text only orders non-numbers.
        text_key = case((number.is_(None), binary_order(text)))
        return [bucket_order, direction(number), direction(text_key), Task.id]
    try:
        expression = task_column(name).value(project)
    except ValidationError:
        raise ValidationError({"ordering": [f"Unknown ordering column: {ordering[0]!r}"]})
    ordered = expression.desc() if descending else expression.asc()
    tie = Task.id.desc() if descending and name in BATCH_TIMESTAMPS else Task.id
    return [ordered.nulls_last(), tie]
