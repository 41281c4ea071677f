"""Where a converted export puts a task's media file (image, audio), as label_studio_sdk's converter
names it when it does not download: remote URLs become "<dir>/<md5(url)[:8]>__<file name>".

Files uploaded to this server (/data/upload/<project>/<file>, kept under settings.data_dir / "upload")
are copied into the archive when the format asks for resources; remote http(s) files are downloaded
then, under the outgoing URL policy (core.net.outgoing).

An uploaded file belongs to the organization of the project named by its first path part; an export
reads only its own organization's files (`organization_projects`): any other is treated as missing."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Collection
from urllib.parse import unquote, urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.config import Settings
from core.files.storage import UPLOAD_DIR
from core.net.outgoing import OutgoingUrlRefused, fetch_to_file
from core.projects.models import Project

UPLOAD_URL_PREFIX = "/data/upload/"
_CLOUD_SCHEMES = ("s3://", "gs://", "azure-blob://", "azure-spi://", "gcs://")


def upload_root(data_dir: Path) -> Path:
    """Where uploaded files are kept (core.files.storage): data_dir/upload/<project id>/<file>."""
    return Path(data_dir) / UPLOAD_DIR


# A media file larger than this is not put in an export archive.
MAX_MEDIA_BYTES = 512 * 1024 * 1024


def organization_projects(session: Session, project_id: int) -> frozenset[int]:
    """Ids of every project of `project_id`'s organization: the projects whose uploads an export of
    `project_id` may read (one query per export, whatever the number of tasks)."""
    exported = aliased(Project)
    return frozenset(session.scalars(
        select(Project.id).join(exported, exported.organization_id == Project.organization_id).where(exported.id == project_id)
    ))


class MediaResolver:
    def __init__(self, upload_dir: Path | None, copy_resources: bool, settings: Settings | None = None,
                 upload_projects: Collection[int] = frozenset()):
        self.upload_dir = upload_dir
        self.copy_resources = copy_resources
        self.settings = settings  # for downloads (SSRF policy); None: remote files are not fetched
        # Projects whose uploads may be read (the exporting organization's); others' files are "missing".
        self.upload_projects = upload_projects

    def uploaded_file(self, url: str) -> Path | None:
        """The local file of an uploaded URL, or None (never outside the upload directory, never
        a file of a project outside `upload_projects`)."""
        if url.startswith("upload") or url.startswith("/upload"):
            url = "/data" + ("" if url.startswith("/") else "/") + url
        if self.upload_dir is None or not url.startswith(UPLOAD_URL_PREFIX):
            return None
        parts = unquote(url[len(UPLOAD_URL_PREFIX):]).split("/")
        if len(parts) != 2 or not parts[0].isascii() or not parts[0].isdigit() or parts[1] in ("", ".", ".."):
            return None
        if int(parts[0]) not in self.upload_projects:
            return None
        path = self.upload_dir / parts[0] / parts[1]
        try:
            return path if path.is_file() else None
        except (OSError, ValueError):  # a name the filesystem cannot hold (too long, NUL): no such file
            return None

    def place(self, url: str, output_dir: Path, subdir: str, *, hashed: bool = True) -> tuple[str, Path | None]:
        """(path written in the export, relative to output_dir; the local file if there is one).
        `hashed`: remote files are named "<md5 of the URL>__<name>" (images) or just "<name>" (audio)."""
        local = self.uploaded_file(url)
        if local is not None:
            target = output_dir / subdir / local.name
            if self.copy_resources and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, target)
            return f"{subdir}/{local.name}", (target if target.exists() else local)
        if url.startswith("/data/") or url.startswith(_CLOUD_SCHEMES) or url.startswith("upload") or url.startswith("/upload"):
            # The converter cannot resolve these without a server to ask: it keeps the URL.
            return url, None
        base = os.path.basename(urlparse(url).path)
        prefix = hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()[:8] + "__" if hashed else ""
        name = f"{subdir}/{prefix}{base}"
        if not self.copy_resources:
            return name, None
        target = output_dir / name
        if not target.exists() and not self._download(url, target):
            return url, None  # like the converter when a download fails: the URL stays as it is
        return name, target

    def _download(self, url: str, target: Path) -> bool:
        if self.settings is None or not url.lower().startswith(("http://", "https://")):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fetch_to_file(self.settings, url, target, MAX_MEDIA_BYTES)
        except OutgoingUrlRefused:
            target.unlink(missing_ok=True)
            return False
        return True


def image_size(path: Path | None) -> tuple[int, int, int] | None:
    """(width, height, channels) of a local image, or None when it cannot be read."""
    if path is None:
        return None
    try:
        from PIL import Image  # optional: without Pillow sizes come from the annotations
    except ImportError:
        return None
    try:
        with Image.open(path) as image:
            return image.size[0], image.size[1], len(image.getbands())
    except Exception:
        return None
