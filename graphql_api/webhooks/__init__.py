"""GraphQL over core.webhooks: the Webhook type with its delivery log, queries and mutations."""
