"""GET /api/dm/columns/?project= — the Data Manager's column catalogue of a project."""
from __future__ import annotations

from core.data_manager.columns import get_all_columns
from core.errors import ValidationError
from core.tasks.queries import get_org_project
from rest_compat.http import ApiRequest, api, api_route


def columns_view(req: ApiRequest):
    raw = req.query.get("project")
    try:
        project_id = int(raw) if raw not in (None, "") else 1  # Label Studio's default
    except ValueError:
        raise ValidationError({"project": ["A valid integer is required."]})
    return get_all_columns(req.ctx, get_org_project(req.ctx, project_id))


routes = [*api_route("/api/dm/columns/", {"GET": api(columns_view)})]
