"""FileUpload -> Label Studio's FileUploadSerializer JSON."""
from __future__ import annotations

from core.files.models import FileUpload


def file_upload_json(upload: FileUpload, size: int | None) -> dict:
    return {"id": upload.id, "file": upload.file, "size": size}
