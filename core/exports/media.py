"""Where a converted export puts a task's media file (image, audio), as label_studio_sdk's converter
names it when it does not download: remote URLs become "<dir>/<md5(url)[:8]>__<file name>".

Files uploaded to this server (/data/upload/<project>/<file>, kept under settings.data_dir / "upload") are copied into the archive when the format asks for resources. Remote URLs are never
fetched: outgoing requests from a worker would bypass the SSRF policy."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

from core.files.storage import UPLOAD_DIR

UPLOAD_URL_PREFIX = "/data/upload/"
_CLOUD_SCHEMES = ("s3://", "gs://", "azure-blob://", "azure-spi://", "gcs://")


def upload_root(data_dir: Path) -> Path:
    """Where uploaded files are kept (core.files.storage): data_dir/upload/<project id>/<file>."""
    return Path(data_dir) / UPLOAD_DIR


class MediaResolver:
    def __init__(self, upload_dir: Path | None, copy_resources: bool):
        self.upload_dir = upload_dir
        self.copy_resources = copy_resources

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

    def place(self, url: str, output_dir: Path, subdir: str) -> tuple[str, Path | None]:
        """(path written in the export, relative to output_dir; the local file if there is one)."""
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
        name = os.path.basename(urlparse(url).path)
        return f"{subdir}/{hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()[:8]}__{name}", None


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
