from __future__ import annotations

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.webhooks import service
from core.webhooks.service import SavedWebhook
from graphql_api.use_case import DeletePayload, as_dict, deleted, pk_or_not_found, result_union, run_use_case
from graphql_api.webhooks.types import WebhookNode


@strawberry.type
class WebhookPayload:
    webhook: WebhookNode
    secret: str | None = strawberry.field(
        description="The signing secret (\"whsec_...\"), only in the answer that set it; store it, it is not shown again.")


@strawberry.input(description="Webhook settings; omitted fields keep their value (or the default on create).")
class WebhookInput:
    url: str | None = strawberry.UNSET
    send_payload: bool | None = strawberry.UNSET
    send_for_all_actions: bool | None = strawberry.UNSET
    actions: list[str] | None = strawberry.UNSET
    headers: JSON | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET
    signed: bool | None = strawberry.field(
        default=strawberry.UNSET, description="true: sign deliveries with a new secret (unless signed already); false: stop signing.")
    secret: str | None = strawberry.field(default=strawberry.UNSET, description="A signing secret of your own (\"whsec_\" + base64).")


def _payload(saved: SavedWebhook) -> WebhookPayload:
    return WebhookPayload(webhook=WebhookNode.from_model(saved.webhook), secret=saved.new_secret)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Create a webhook for a project, or for the whole organization without projectId.")
    async def create_webhook(
        self, info: Info, input: WebhookInput, project_id: strawberry.ID | None = None
    ) -> result_union("CreateWebhookResult", WebhookPayload):
        def create(ctx):
            data = as_dict(input)
            if project_id is not None:
                data["project"] = pk_or_not_found(project_id, "Project")
            return service.create_webhook(ctx, data)

        return await run_use_case(info, create, _payload, {"project": "projectId"})

    @strawberry.mutation(description="Change a webhook; omitted fields (actions included) keep their value.")
    async def update_webhook(
        self, info: Info, id: strawberry.ID, input: WebhookInput
    ) -> result_union("UpdateWebhookResult", WebhookPayload):
        return await run_use_case(
            info,
            lambda ctx: service.update_webhook(ctx, pk_or_not_found(id, "Webhook"), as_dict(input), clear_omitted_actions=False),
            _payload,
        )

    @strawberry.mutation(description="Delete a webhook and its delivery log.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> result_union("DeleteWebhookResult", DeletePayload):
        return await run_use_case(info, lambda ctx: service.delete_webhook(ctx, pk_or_not_found(id, "Webhook")), deleted(id))
