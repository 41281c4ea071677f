"""Webhooks: Label Studio's webhook API, delivered from the outbox by the job system.

`service` holds the use cases (CRUD, info); `subscriber` turns outbox events into messages
(the rendered payload, once per event) and deliveries (one per message and webhook);
`delivery` sends them, in order per webhook, with retries, dead-lettering and signatures."""
