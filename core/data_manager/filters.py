"""Label Studio's Data Manager filter language compiled to one SQLAlchemy condition.

    {"conjunction": "and" | "or",
     "items": [{"filter": "filter:tasks:<column>", "operator": ..., "type": ..., "value": ...}]}

Works the same on SQLite and PostgreSQL. Bad input raises core.errors.ValidationError."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from core.projects.models import Project


def compile_filters(filters: dict[str, Any] | None, project: Project) -> ColumnElement[bool]:
    """One boolean SQL expression over `tasks` (true when there is nothing to filter)."""
    raise NotImplementedError
