from __future__ import annotations

from typing import Sequence

from core.exports.batch import converted_formats_by_export_ids, export_counts_by_project_ids, export_pages_by_project_ids, exports_by_ids
from graphql_api.dataloader import ContextLoader, by_id_loader, counts_by_parent_loader, pages_by_parent_loader
from graphql_api.exports.types import ConvertedFormatNode, ExportSnapshotNode

ExportSnapshotByIdLoader = by_id_loader("ExportSnapshotByIdLoader", exports_by_ids, ExportSnapshotNode.from_model)

ExportSnapshotsByProjectIdLoader = pages_by_parent_loader("ExportSnapshotsByProjectIdLoader", export_pages_by_project_ids, ExportSnapshotNode.from_model)

ExportSnapshotCountByProjectIdLoader = counts_by_parent_loader("ExportSnapshotCountByProjectIdLoader", export_counts_by_project_ids)


class ConvertedFormatsByExportIdLoader(ContextLoader):
    async def batch_load_fn(self, export_ids: Sequence[int]) -> list[list[ConvertedFormatNode]]:
        def work():
            grouped = converted_formats_by_export_ids(self.session, self.org_id, list(export_ids))
            return [[ConvertedFormatNode.from_model(c) for c in grouped[pk]] for pk in export_ids]

        return await self.context.read(work)
