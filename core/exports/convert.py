"""Label Studio's converted export formats written from converter items (see json_min.task_items) into a
work directory, then packaged as Label Studio does: one file as it is, anything else as a zip."""
from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping

import orjson

from core.config import Settings
from core.errors import ValidationError
from core.exports.asr import write_asr_manifest
from core.exports.brush import write_brush
from core.exports.brush_coco import write_brush_coco
from core.exports.coco import write_coco
from core.exports.conll import write_conll
from core.exports.csv_export import csv_chunks
from core.exports.doclang import write_doclang
from core.exports.formats import ALL_FORMAT_NAMES, CSV_OLD, data_keys
from core.exports.json_min import json_min_record, prettify
from core.exports.media import MediaResolver
from core.exports.voc import write_voc
from core.exports.yolo import write_yolo

# Formats the converter has that this server does not write.
UNSUPPORTED_FORMATS = (CSV_OLD,)
KNOWN_FORMATS = ALL_FORMAT_NAMES + (CSV_OLD,)
WITH_IMAGES = ("COCO_WITH_IMAGES", "YOLO_WITH_IMAGES", "YOLO_OBB_WITH_IMAGES")
_DUMP_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def check_format(export_type: str, field: str = "export_type") -> None:
    if export_type not in KNOWN_FORMATS:
        raise ValidationError({field: [f"{export_type} is not supported export format"]})
    if export_type in UNSUPPORTED_FORMATS:
        raise ValidationError({field: [f"{export_type} export is not available on this server"]})


def needs_region_ids(export_type: str, parsed_config: Mapping[str, Any]) -> bool:
    return export_type.startswith("YOLO") and any(info.get("type") == "KeyPointLabels" for info in parsed_config.values())


def write_converted(export_type: str, read_items: Callable[[], Iterable[dict]], output_dir: Path,
                    parsed_config: Mapping[str, Any], *, upload_dir: Path | None, download_resources: bool,
                    settings: Settings | None = None, read_tasks: Callable[[], Iterable[dict]] | None = None,
                    upload_projects: Collection[int] = frozenset()) -> None:
    """Write the format's files into `output_dir` (created). `read_items` gives a fresh iterator of
    converter items each call (CSV/TSV read them twice, everything else once); `read_tasks` the JSON
    export's tasks (DOCLANG reads those). With `settings`, remote media are downloaded (under the
    outgoing URL policy) when the format copies resources. Uploaded files are read only from
    `upload_projects` (media.organization_projects)."""
    check_format(export_type)
    if export_type not in ("CSV", "TSV", "DOCLANG"):
        items = read_items()
    output_dir.mkdir(parents=True, exist_ok=True)
    keys = data_keys(parsed_config)
    data_key = keys[0] if keys else None
    copies = export_type in WITH_IMAGES or (download_resources and export_type in ("VOC", "ASR_MANIFEST", "DOCLANG"))
    media = MediaResolver(upload_dir, copies, settings, upload_projects)
    if export_type == "JSON_MIN":
        _write_json_min(items, output_dir / "result.json")
    elif export_type in ("CSV", "TSV"):
        with open(output_dir / "result.csv", "wb") as out:  # the converter names TSV files .csv too
            for chunk in csv_chunks(read_items, "," if export_type == "CSV" else "\t", prettify):
                out.write(chunk)
    elif export_type == "CONLL2003":
        write_conll(items, output_dir, data_key)
    elif export_type in ("COCO", "COCO_WITH_IMAGES"):
        write_coco(items, output_dir, parsed_config, data_key, media)
    elif export_type.startswith("YOLO"):
        write_yolo(items, output_dir, parsed_config, data_key, media, oriented="OBB" in export_type)
    elif export_type == "VOC":
        write_voc(items, output_dir, parsed_config, data_key, media)
    elif export_type in ("BRUSH_TO_NUMPY", "BRUSH_TO_PNG"):
        write_brush(items, output_dir, as_png=export_type == "BRUSH_TO_PNG")
    elif export_type == "BRUSH_TO_COCO":
        write_brush_coco(items, output_dir)
    elif export_type == "ASR_MANIFEST":
        write_asr_manifest(items, output_dir, data_key, media)
    elif export_type == "DOCLANG":
        if read_tasks is None:
            raise ValidationError({"export_type": ["DOCLANG is written from whole tasks"]})
        write_doclang(read_tasks(), output_dir, parsed_config, media, output_dir.parent / (output_dir.name + ".doclang-work"),
                      download_resources=download_resources)
    else:
        raise ValidationError({"export_type": [f"{export_type} is not written from converter items"]})


def _write_json_min(items: Iterable[dict], path: Path) -> None:
    with open(path, "wb") as out:
        out.write(b"[\n")
        first = True
        for item in items:
            out.write(b"" if first else b",\n")
            out.write(orjson.dumps(json_min_record(item), option=_DUMP_OPTIONS | orjson.OPT_INDENT_2))
            first = False
        out.write(b"\n]")


@dataclass(frozen=True)
class PackagedExport:
    path: Path
    suffix: str  # ".zip", or the single file's own suffix

    @property
    def content_type(self) -> str:
        # Label Studio answers "application/<extension>" for export files.
        return f"application/{self.suffix.lstrip('.')}"


def package(output_dir: Path, *, allow_empty: bool) -> PackagedExport | None:
    """One file and no folder: that file. Otherwise a zip of the folder next to it (None when
    there is nothing and `allow_empty` is False, as Label Studio's conversion reports)."""
    files = [path for path in output_dir.rglob("*") if path.is_file()]
    folders = [path for path in output_dir.rglob("*") if path.is_dir()]
    if len(files) == 1 and not folders:
        return PackagedExport(files[0], files[0].suffix)
    if not files and not folders and not allow_empty:
        return None
    archive = output_dir.with_name(output_dir.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for folder, subfolders, names in os.walk(output_dir):
            folder_path = Path(folder)
            for name in sorted(subfolders):
                zipped.write(folder_path / name, (folder_path / name).relative_to(output_dir).as_posix() + "/")
            for name in sorted(names):
                zipped.write(folder_path / name, (folder_path / name).relative_to(output_dir).as_posix())
    shutil.rmtree(output_dir, ignore_errors=True)
    return PackagedExport(archive, ".zip")
