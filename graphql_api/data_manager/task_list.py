"""Filtered and ordered task lists: the REST task list's core use case
(core.data_manager.task_list.list_data_manager_tasks), paged with offset cursors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.data_manager.task_list import ALL_TASKS, TaskQuery, list_data_manager_tasks
from core.errors import ValidationError
from core.pagination import PageRequest
from graphql_api.errors import BadRequest, validation_message
from graphql_api.relay import Connection, checked_page_size, make_connection, offset_after, offset_cursor
from graphql_api.tasks.types import TaskNode

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext


@dataclass(frozen=True)
class _Window(PageRequest):
    """Rows [start, start + page_size): list_tasks pages by offset, and a cursor may point
    anywhere, not only at page boundaries. A window past the end is just empty."""

    start: int = 0

    @property
    def offset(self) -> int:
        return self.start

    def check_exists(self, total: int) -> None:
        return None


async def filtered_tasks(
    context: "GraphQLContext",
    *,
    project_id: int | None,
    view_id: int | None,
    filters: dict[str, Any] | None,
    ordering: list[str],
    first: int | None,
    after: str | None,
) -> Connection[TaskNode]:
    """A page of tasks chosen exactly as GET /api/tasks/?project=&view=&query= chooses them.
    Raises core.errors.NotFound for a project or view outside the caller's organization."""
    size, start = checked_page_size(first), offset_after(after)
    query = TaskQuery(filters=filters, ordering=ordering, selected_items=ALL_TASKS)

    def work():
        try:
            result = list_data_manager_tasks(
                context.core, project_id=project_id, view_id=view_id, query=query, page=_Window(page=1, page_size=size + 1, start=start)
            )
        except ValidationError as exc:
            raise BadRequest(validation_message(exc))
        rows = result.page.tasks
        return [TaskNode.from_model(row) for row in rows[:size]], len(rows) > size, result.page.total

    nodes, has_next, total = await context.read(work)

    async def count() -> int:
        return total

    cursors = [offset_cursor(start + index + 1) for index in range(len(nodes))]
    return make_connection(nodes, has_next, count, cursors)
