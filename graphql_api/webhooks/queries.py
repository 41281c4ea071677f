from __future__ import annotations

import strawberry
from strawberry.types import Info

from core.webhooks import queries
from core.webhooks.queries import ORGANIZATION_WIDE
from graphql_api.relay import pk_of
from graphql_api.webhooks.types import WebhookActionType, WebhookNode


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Your organization's webhooks by id: all, one project's (projectId), or the "
                      "organization-wide ones (organizationWide: true).")
    async def webhooks(self, info: Info, project_id: strawberry.ID | None = None, organization_wide: bool = False) -> list[WebhookNode]:
        context = info.context
        if project_id is not None:
            project = pk_of(project_id, "Project")
            if project is None:
                return []
        else:
            project = ORGANIZATION_WIDE if organization_wide else None
        return await context.read(lambda: [WebhookNode.from_model(w) for w in queries.list_webhooks(context.core, project)])

    @strawberry.field(description="The actions a webhook can subscribe to; organizationOnly filters them.")
    def webhook_actions(self, organization_only: bool | None = None) -> list[WebhookActionType]:
        return [WebhookActionType.from_kind(kind) for kind in queries.webhook_actions(organization_only)]
