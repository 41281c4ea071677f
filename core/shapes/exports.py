"""Label Studio JSON shapes of export snapshots (data_export ExportSerializer, ConvertedFormatSerializer)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.exports.models import ConvertedFormat
from core.shapes.users import user_simple
from core.timeutil import isoformat

if TYPE_CHECKING:
    from core.exports.snapshots import SnapshotView


def converted_format_json(converted: ConvertedFormat) -> dict:
    return {"id": converted.id, "status": converted.status, "export_type": converted.export_type,
            "traceback": converted.traceback}


def snapshot_json(view: SnapshotView) -> dict:
    export = view.export
    return {
        "title": export.title,
        "id": export.id,
        "created_by": user_simple(view.created_by) if view.created_by is not None else None,
        "created_at": isoformat(export.created_at),
        "finished_at": isoformat(export.finished_at) if export.finished_at else None,
        "status": export.status,
        "md5": export.md5,
        "counters": export.counters,
        "converted_formats": [converted_format_json(converted) for converted in view.converted_formats],
    }


def created_snapshot_json(view: SnapshotView) -> dict:
    # Label Studio's create answer echoes the option fields, always null (they are not stored on the model).
    return {**snapshot_json(view), "task_filter_options": None, "annotation_filter_options": None,
            "serialization_options": None}
