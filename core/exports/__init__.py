"""Exports of a project's tasks with their annotations and predictions (Label Studio's export formats):
the streamed easy export, snapshots written by jobs, and their conversions."""
from core.exports.formats import export_formats
from core.exports.json_export import ExportOptions, ExportPlan, plan_export, stream_export

__all__ = ["export_formats", "ExportOptions", "ExportPlan", "plan_export", "stream_export"]
