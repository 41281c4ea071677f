"""A snapshot's JSON file converted to another format: read back a task at a time, written by the
format's converter into a work folder, packaged as Label Studio packages conversions."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Collection, Iterator, Mapping

from core.config import Settings
from core.exports.convert import PackagedExport, needs_region_ids, package, write_converted
from core.exports.json_export import snapshot_tasks
from core.exports.json_min import ControlMatcher, task_items
from core.exports.media import upload_root


def snapshot_items(source: Path, matcher: ControlMatcher) -> Iterator[dict]:
    with open(source, "rb") as lines:
        for task in snapshot_tasks(lines):
            annotations = task.get("annotations")
            if annotations is not None:
                yield from task_items(task["id"], task.get("data"), annotations, matcher)


def snapshot_file_tasks(source: Path) -> Iterator[dict]:
    with open(source, "rb") as lines:
        yield from snapshot_tasks(lines)


def convert_snapshot_file(source: Path, export_type: str, parsed_config: Mapping[str, Any], work: Path, *,
                          settings: Settings, download_resources: bool,
                          upload_projects: Collection[int]) -> PackagedExport | None:
    """The converted file inside `work` (None when the format wrote nothing, as Label Studio reports);
    uploaded media are read only from `upload_projects` (media.organization_projects)."""
    output = work / "out"
    if export_type == "JSON":
        output.mkdir(parents=True)
        shutil.copyfile(source, output / "result.json")
    else:
        matcher = ControlMatcher(parsed_config, needs_region_ids(export_type, parsed_config))
        write_converted(export_type, lambda: snapshot_items(source, matcher), output, parsed_config,
                        upload_dir=upload_root(settings.data_dir), download_resources=download_resources,
                        settings=settings, read_tasks=lambda: snapshot_file_tasks(source), upload_projects=upload_projects)
    return package(output, allow_empty=False)
