"""Where a converted export puts a task's media file (image, audio), as label_studio_sdk's converter
names it when it does not download: remote URLs become "<dir>/<md5(url)[:8]>__<file name>".

Files uploaded to this server (/data/upload/<project>/<file>, kept under settings.data_dir / "upload")
are copied into the archive when the format asks for resources; remote http(s) files are downloaded
then, under the outgoing URL policy (core.net.outgoing)."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.config import Settings
from core.files.storage import UPLOAD_DIR
from core.net.outgoing import OutgoingUrlRefused, fetch_to_file

UPLOAD_URL_PREFIX = "/data/upload/"
_CLOUD_SCHEMES = ("s3://", "gs://", "azure-blob://", "azure-spi://", "gcs://")


def upload_root(data_dir: Path) -> Path:
    """Where uploaded files are kept (core.files.storage): data_dir/upload/<project id>/<file>."""
    return Path(data_dir) / UPLOAD_DIR


# A media file larger than this is not put in an export archive.
MAX_MEDIA_BYTES = 512 * 1024 * 1024


class MediaResolver:
    def __init__(self, upload_dir: Path | None, copy_resources: bool, settings: Settings | None = None):
        self.upload_dir = upload_dir
        self.copy_resources = copy_resources
        self.settings = settings  # for downloads (SSRF policy); None: remote files are not fetched

    def uploaded_file(self, url: str) -> Path | None:
        """The local file of an uploaded URL, or None (never outside the upload directory)."""
        if url.startswith("upload") or url.startswith("/upload"):
            url = "/data" + ("" if url.startswith("/") else "/") + url
        if self.upload_dir is None or not url.startswith(UPLOAD_URL_PREFIX):
            return None
        parts = unquote(url[len(UPLOAD_URL_PREFIX):]).split("/")
        if len(parts) != 2 or not parts[0].isdigit() or parts[1] in ("", ".", ".."):
            return None
        path = self.upload_dir / parts[0] / parts[1]
        return path if path.is_file() else None

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
