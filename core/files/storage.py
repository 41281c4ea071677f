"""Uploaded files on disk: data_dir/upload/<project_id>/<uuid8>-<name>.

Every path that comes from outside (a stored name, a URL path) goes through `resolve_stored`,
which refuses anything that does not land under the upload root after resolving symlinks and
'..' (path traversal)."""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.config import Settings
from core.context import Context

UPLOAD_DIR = "upload"
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_LENGTH = 200


@dataclass
class IncomingFile:
    """A file received with a request, written to `path` in the incoming directory."""

    name: str
    path: Path
    size: int


def upload_root(settings: Settings) -> Path:
    return (Path(settings.data_dir) / UPLOAD_DIR).resolve()


def incoming_dir(settings: Settings) -> Path:
    """Where request bodies are written before they become uploads (same filesystem: moves are renames)."""
    path = upload_root(settings) / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_filename(name: str) -> str:
    """The client's file name reduced to its last component and harmless characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_CHARACTERS.sub("_", base).lstrip(".")
    stem, ext = os.path.splitext(base)
    return (stem[: MAX_NAME_LENGTH - len(ext)] + ext.lower()) or "file"


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def store(ctx: Context, project_id: int, source: Path, original_name: str) -> str:
    """Move `source` into the project's upload directory; returns the stored name. The file goes
    again if the transaction rolls back, so a failed request leaves nothing behind."""
    directory = upload_root(ctx.settings) / str(project_id)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex[:8]}-{safe_filename(original_name)}"
    target = directory / name
    os.replace(source, target)
    ctx.on_rollback(lambda: target.unlink(missing_ok=True))
    return f"{UPLOAD_DIR}/{project_id}/{name}"


def resolve_stored(settings: Settings, stored_name: str) -> Path | None:
    """The absolute path of a stored name ("upload/..."), or None when it would leave the upload root."""
    root = upload_root(settings)
    if "\x00" in stored_name or not stored_name.startswith(UPLOAD_DIR + "/"):
        return None
    path = (root.parent / stored_name).resolve()
    if not path.is_relative_to(root) or path == root:
        return None
    return path


def url_of(stored_name: str) -> str:
    """Where the file is served: Label Studio's /data/upload/<project_id>/<name>."""
    return f"/data/{stored_name}"


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
