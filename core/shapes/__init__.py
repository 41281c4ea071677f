"""Label Studio 1.23.2's JSON shapes of core objects, one module per domain, shared by the REST API,
the exports and anything else that must speak Label Studio's JSON (webhooks, export storages).

Shapes only render: they never open a session or query. What they show next to an object (its
author, its annotations, counters) is loaded by the caller, usually with a core batch read, and
passed in (an import-linter contract in pyproject.toml keeps sqlalchemy, core.db and the
service/queries/batch modules out of here)."""
