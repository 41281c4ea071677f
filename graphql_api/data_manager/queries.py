from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.data_manager.actions import list_actions
from core.errors import NotFound, ValidationError
from graphql_api.data_manager.inputs import TaskFilterInput, TaskOrderInput, filters_dict, ordering_terms
from graphql_api.data_manager.task_list import filtered_tasks
from graphql_api.data_manager.types import DmAction, ViewNode
from graphql_api.errors import BadRequest, validation_message
from graphql_api.relay import Connection, pk_of
from graphql_api.tasks.types import TaskNode


@strawberry.type
class DataManagerQueries:
    @strawberry.field(
        description="A project's tasks as the Data Manager (REST GET /api/tasks/) lists them: by a saved view (viewId: its "
        "filters and ordering) or by projectId with filter/orderBy, compiled by the same engine. Offset cursors. "
        "Null when the project or view is not in your organization."
    )
    async def tasks(
        self,
        info: Info,
        project_id: strawberry.ID | None = None,
        view_id: strawberry.ID | None = None,
        filter: TaskFilterInput | None = None,
        order_by: list[TaskOrderInput] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskNode] | None:
        if project_id is None and view_id is None:
            raise BadRequest("Give projectId or viewId.")
        if view_id is not None and (filter is not None or order_by):
            raise BadRequest("A view brings its own filters and ordering: give viewId or filter/orderBy, not both.")
        project_pk = pk_of(project_id, "Project") if project_id is not None else None
        view_pk = pk_of(view_id, "View") if view_id is not None else None
        if (project_id is not None and project_pk is None) or (view_id is not None and view_pk is None):
            return None
        try:
            filters, ordering = filters_dict(filter), ordering_terms(order_by)
        except ValidationError as exc:
            raise BadRequest(validation_message(exc))
        try:
            return await filtered_tasks(
                info.context, project_id=project_pk, view_id=view_pk, filters=filters, ordering=ordering, first=first, after=after
            )
        except NotFound:
            return None

    @strawberry.field(description="A Data Manager view (tab) of your organization; null if there is none.")
    async def view(self, info: Info, id: strawberry.ID) -> ViewNode | None:
        pk = pk_of(id, "View")
        return await info.context.loaders.view_by_id.load(pk) if pk is not None else None

    @strawberry.field(description="The Data Manager actions a member may run on the project's tasks (GET /api/dm/actions/).")
    async def dm_actions(self, info: Info, project_id: strawberry.ID) -> list[DmAction] | None:
        pk = pk_of(project_id, "Project")
        if pk is None:
            return None
        context = info.context

        def work():
            try:
                return [DmAction.from_listing(item) for item in list_actions(context.core, pk)]
            except NotFound:
                return None

        return await context.read(work)
