from __future__ import annotations

from collections import defaultdict
from typing import Sequence

from core.exports.batch import converted_formats_by_export_ids, export_counts_by_project_ids, export_pages_by_project_ids, exports_by_ids
from graphql_api.dataloader import ContextLoader, by_id_loader
from graphql_api.exports.types import ConvertedFormatNode, ExportSnapshotNode
from graphql_api.relay import PageArgs

ExportSnapshotByIdLoader = by_id_loader("ExportSnapshotByIdLoader", exports_by_ids, ExportSnapshotNode.from_model)


class ExportSnapshotsByProjectIdLoader(ContextLoader):
    """Key: (project id, PageArgs) -> (snapshots of that page newest first, has_next); the
    cursor's id is the last snapshot seen, so the next page holds older ones."""

    async def batch_load_fn(self, keys: Sequence[tuple[int, PageArgs]]) -> list[tuple[list[ExportSnapshotNode], bool]]:
        projects_by_page: dict[PageArgs, list[int]] = defaultdict(list)
        for project_id, page in keys:
            projects_by_page[page].append(project_id)

        def work():
            pages = {}
            for page, project_ids in projects_by_page.items():
                found = export_pages_by_project_ids(self.session, self.org_id, project_ids, page.first, page.after_id)
                for project_id, (exports, has_next) in found.items():
                    pages[(project_id, page)] = ([ExportSnapshotNode.from_model(e) for e in exports], has_next)
            return [pages[key] for key in keys]

        return await self.context.read(work)


class ExportSnapshotCountByProjectIdLoader(ContextLoader):
    async def batch_load_fn(self, project_ids: Sequence[int]) -> list[int]:
        def work():
            counts = export_counts_by_project_ids(self.session, self.org_id, list(project_ids))
            return [counts[pk] for pk in project_ids]

        return await self.context.read(work)


class ConvertedFormatsByExportIdLoader(ContextLoader):
    async def batch_load_fn(self, export_ids: Sequence[int]) -> list[list[ConvertedFormatNode]]:
        def work():
            grouped = converted_formats_by_export_ids(self.session, self.org_id, list(export_ids))
            return [[ConvertedFormatNode.from_model(c) for c in grouped[pk]] for pk in export_ids]

        return await self.context.read(work)
