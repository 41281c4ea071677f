from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.data_manager.models import View
from graphql_api.data_manager.task_list import filtered_tasks
from graphql_api.relay import Connection, Node, to_global_id
from graphql_api.tasks.types import TaskNode
from graphql_api.timestamps import utc
from graphql_api.users.types import UserNode

if TYPE_CHECKING:
    from graphql_api.projects.types import ProjectNode


@strawberry.type(name="View", description="A Data Manager tab: a saved filter, ordering and column layout of a project's tasks.")
class ViewNode(Node):
    pk: int = strawberry.field(description="The numeric id used by the REST API (/api/dm/views/{id}/).")
    title: str | None = strawberry.field(description="The tab's title (data.title).")
    order: int | None = strawberry.field(description="Position among the project's tabs.")
    filters: JSON | None = strawberry.field(description='Label Studio\'s filter group: {"conjunction", "items": [{"filter", "operator", "type", "value"}]}.')
    ordering: list[str] = strawberry.field(description='Label Studio\'s ordering, e.g. ["-tasks:total_annotations"]; only the first term orders.')
    hidden_columns: JSON | None = strawberry.field(description='data.hiddenColumns: {"explore": [...], "labeling": [...]}.')
    selected_items: JSON | None
    data: JSON = strawberry.field(description="Everything else the frontend stored for the tab (title, hiddenColumns, columnsWidth, ...).")
    created_at: datetime
    updated_at: datetime
    project_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, view: View) -> "ViewNode":
        data = dict(view.data or {})
        return cls(
            id=strawberry.ID(to_global_id("View", view.id)),
            pk=view.id,
            title=data.get("title") if isinstance(data.get("title"), str) else None,
            order=view.order,
            filters=view.filters,
            ordering=list(view.ordering or []),
            hidden_columns=data.get("hiddenColumns"),
            selected_items=view.selected_items,
            data=data,
            created_at=utc(view.created_at),
            updated_at=utc(view.updated_at),
            project_pk=view.project_id,
            user_pk=view.user_id,
        )

    @strawberry.field
    async def project(self, info: Info) -> Annotated["ProjectNode", strawberry.lazy("graphql_api.projects.types")] | None:
        return await info.context.loaders.project_by_id.load(self.project_pk)

    @strawberry.field
    async def user(self, info: Info) -> UserNode | None:
        return await info.context.loaders.user_by_id.load(self.user_pk) if self.user_pk else None

    @strawberry.field(description="The tasks this tab shows, with its filters and ordering (offset cursors).")
    async def tasks(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[TaskNode]:
        return await filtered_tasks(info.context, project_id=None, view_id=self.pk, filters=None, ordering=[], first=first, after=after)


@strawberry.type(description="A Data Manager action (GET /api/dm/actions/).")
class DmAction:
    id: str
    title: str
    order: int
    permission: JSON
    experimental: bool | None
    reload: bool | None
    dialog: JSON | None

    @classmethod
    def from_listing(cls, item: dict) -> "DmAction":
        return cls(
            id=item["id"],
            title=item["title"],
            order=item["order"],
            permission=item.get("permission"),
            experimental=item.get("experimental"),
            reload=item.get("reload"),
            dialog=item.get("dialog"),
        )
