"""Data Manager view (tab) -> Label Studio JSON."""
from __future__ import annotations

from core.data_manager.models import View


def view_json(view: View) -> dict:
    """Label Studio's ViewSerializer: filters, selected items and ordering rendered inside
    `data` (each only when set), after the keys the client stored."""
    data = dict(view.data or {})
    if view.filters:
        data["filters"] = view.filters
    if view.selected_items:
        data["selectedItems"] = view.selected_items
    if view.ordering:
        data["ordering"] = view.ordering
    return {"id": view.id, "data": data, "order": view.order, "user": view.user_id, "project": view.project_id}
