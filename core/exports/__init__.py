"""Exports of a project's tasks with their annotations and predictions (Label Studio's export formats)."""
from core.exports.formats import export_formats
from core.exports.json_export import (
    EXPORT_FORMATS,
    ExportOptions,
    ExportPlan,
    plan_export,
    stream_export,
)

__all__ = ["export_formats", "EXPORT_FORMATS", "ExportOptions", "ExportPlan", "plan_export", "stream_export"]
