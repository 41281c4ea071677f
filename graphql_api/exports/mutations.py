from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from core.errors import NotFound
from core.exports import snapshots
from core.exports.batch import exports_by_ids
from graphql_api.exports.types import ConvertedFormatNode, ExportSnapshotNode
from graphql_api.jobs.types import JobNode, job_field
from graphql_api.relay import pk_of
from graphql_api.use_case import DeletePayload, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.enum
class ExportTaskChoice(Enum):
    ONLY = "only"
    EXCLUDE = "exclude"


@strawberry.input(description="Which tasks the snapshot holds (Label Studio's task_filter_options).")
class ExportTaskFilterInput:
    view_id: strawberry.ID | None = strawberry.field(default=None, description="Only the tasks of this Data Manager view.")
    skipped: ExportTaskChoice | None = None
    finished: ExportTaskChoice | None = None
    annotated: ExportTaskChoice | None = None
    only_with_annotations: bool = False


@strawberry.input(description="Which annotations the snapshot holds (Label Studio's annotation_filter_options).")
class ExportAnnotationFilterInput:
    usual: bool | None = True
    ground_truth: bool | None = None
    skipped: bool | None = None


@strawberry.input(description="How the snapshot writes tasks (Label Studio's serialization_options).")
class ExportSerializationInput:
    drafts_only_id: bool = False
    predictions_only_id: bool = False
    annotations_completed_by_only_id: bool = False
    include_annotation_history: bool = False
    interpolate_key_frames: bool = False


@strawberry.input
class ExportSnapshotInput:
    title: str | None = None
    task_filter: ExportTaskFilterInput | None = None
    annotation_filter: ExportAnnotationFilterInput | None = None
    serialization: ExportSerializationInput | None = None


def _choice(value: ExportTaskChoice | None) -> str | None:
    return value.value if value is not None else None


def _snapshot_body(input: ExportSnapshotInput | None) -> dict[str, Any]:
    """The body of POST /api/projects/{id}/exports/."""
    body: dict[str, Any] = {}
    if input is None:
        return body
    if input.title is not None:
        body["title"] = input.title
    if input.task_filter is not None:
        given = input.task_filter
        view_pk = pk_or_not_found(given.view_id, "View") if given.view_id is not None else None
        body["task_filter_options"] = {
            "view": view_pk, "skipped": _choice(given.skipped), "finished": _choice(given.finished),
            "annotated": _choice(given.annotated), "only_with_annotations": given.only_with_annotations,
        }
    if input.annotation_filter is not None:
        given = input.annotation_filter
        body["annotation_filter_options"] = {"usual": given.usual, "ground_truth": given.ground_truth, "skipped": given.skipped}
    if input.serialization is not None:
        given = input.serialization
        body["serialization_options"] = {
            "drafts": {"only_id": given.drafts_only_id},
            "predictions": {"only_id": given.predictions_only_id},
            "annotations__completed_by": {"only_id": given.annotations_completed_by_only_id},
            "include_annotation_history": given.include_annotation_history,
            "interpolate_key_frames": given.interpolate_key_frames,
        }
    return body


@strawberry.type
class ExportSnapshotPayload:
    snapshot: ExportSnapshotNode

    @strawberry.field(description="The export job writing the snapshot; follow it with jobProgress.")
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.snapshot.job_pk)


@strawberry.type
class ConvertExportPayload:
    converted_format: ConvertedFormatNode

    @strawberry.field(description="The export_convert job; follow it with jobProgress.")
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.converted_format.job_pk)


def _export_of(ctx: Context, snapshot_id: strawberry.ID):
    """The snapshot (of the caller's organization) a global id names: its project is needed by
    the snapshot use cases, which take (project id, export id) as the REST paths do."""
    pk = pk_of(snapshot_id, "ExportSnapshot")
    export = exports_by_ids(ctx.session, ctx.org_id, [pk]).get(pk) if pk is not None else None
    if export is None:
        raise NotFound()
    return export


def _convert(ctx: Context, snapshot_id: strawberry.ID, export_type: str, download_resources: bool):
    export = _export_of(ctx, snapshot_id)
    return snapshots.convert_snapshot(ctx, export.project_id, export.id, {"export_type": export_type, "download_resources": download_resources})


def _delete(ctx: Context, snapshot_id: strawberry.ID) -> None:
    export = _export_of(ctx, snapshot_id)
    snapshots.delete_snapshot(ctx, export.project_id, export.id)


@strawberry.type
class ExportMutations:
    @strawberry.mutation(
        description="Start an export snapshot (JSON, as POST /api/projects/{id}/exports/): returns the snapshot and its job. "
        "Other formats: convertExport once the snapshot is completed."
    )
    async def create_export_snapshot(
        self, info: Info, project_id: strawberry.ID, input: ExportSnapshotInput | None = None
    ) -> result_union("CreateExportSnapshotResult", ExportSnapshotPayload):
        return await run_use_case(
            info,
            lambda ctx: snapshots.create_snapshot(ctx, pk_or_not_found(project_id, "Project"), _snapshot_body(input)),
            lambda view: ExportSnapshotPayload(snapshot=ExportSnapshotNode.from_model(view.export)),
            {"task_filter_options.view": "input.taskFilter.viewId"},
        )

    @strawberry.mutation(description="Convert a completed snapshot to `exportType` (a name from project.exportFormats) with a job.")
    async def convert_export(
        self, info: Info, snapshot_id: strawberry.ID, export_type: str, download_resources: bool = False
    ) -> result_union("ConvertExportResult", ConvertExportPayload):
        return await run_use_case(
            info,
            lambda ctx: _convert(ctx, snapshot_id, export_type, download_resources),
            lambda converted: ConvertExportPayload(converted_format=ConvertedFormatNode.from_model(converted)),
        )

    @strawberry.mutation(description="Delete a snapshot, its conversions and their files.")
    async def delete_export_snapshot(self, info: Info, id: strawberry.ID) -> result_union("DeleteExportSnapshotResult", DeletePayload):
        return await run_use_case(info, lambda ctx: _delete(ctx, id), deleted(id))
