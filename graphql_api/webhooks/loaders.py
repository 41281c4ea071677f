from __future__ import annotations

from core.webhooks.batch import deliveries_pages_by_webhook_ids, delivery_counts_by_webhook_ids, webhooks_by_ids
from graphql_api.dataloader import by_id_loader, counts_by_parent_loader, pages_by_parent_loader
from graphql_api.webhooks.types import WebhookDeliveryNode, WebhookNode

WebhookByIdLoader = by_id_loader("WebhookByIdLoader", webhooks_by_ids, WebhookNode.from_model)
WebhookDeliveriesByWebhookIdLoader = pages_by_parent_loader(
    "WebhookDeliveriesByWebhookIdLoader", deliveries_pages_by_webhook_ids, WebhookDeliveryNode.from_entry
)
WebhookDeliveryCountByWebhookIdLoader = counts_by_parent_loader("WebhookDeliveryCountByWebhookIdLoader", delivery_counts_by_webhook_ids)
