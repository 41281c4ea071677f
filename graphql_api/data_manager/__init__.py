"""GraphQL over core.data_manager: typed filters and ordering for task lists (compiled by the
same engine as REST GET /api/tasks/), views (tabs) and actions."""
