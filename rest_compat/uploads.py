"""multipart/form-data request bodies streamed to disk: files go straight into the upload
area's incoming directory (never whole in memory), text fields are kept (small), and the whole
body is held to the server's request size limit."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from core.auth.service import authenticate

from core.config import Settings
from core.errors import PayloadTooLarge, ValidationError
from core.files.storage import IncomingFile, incoming_dir

MAX_FIELD_BYTES = 1024 * 1024
MAX_PARTS = 1000


@dataclass
class MultipartForm:
    files: list[tuple[str, IncomingFile]] = field(default_factory=list)  # (field name, file)
    fields: dict[str, str] = field(default_factory=dict)

    def remove_files(self) -> None:
        """Drop whatever was not moved into the upload area."""
        for _, incoming in self.files:
            incoming.path.unlink(missing_ok=True)


async def require_authentication(request: Request) -> None:
    """Refuse anonymous callers before their body is written to disk (the view checks again)."""
    state = request.app.state

    def check() -> None:
        session = state.session_factory()
        try:
            authenticate(session, state.settings, request.headers.get("authorization"))
        finally:
            session.close()

    await run_in_threadpool(check)


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def read_multipart(request: Request, settings: Settings) -> MultipartForm:
    """Parse the body; PayloadTooLarge past settings.max_body_bytes, ValidationError if malformed.
    On error, files written so far are removed."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise ValidationError("Multipart form parse error - Invalid boundary in multipart: None")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise PayloadTooLarge()
    form = MultipartForm()
    directory = incoming_dir(settings)
    state: dict = {"headers": {}, "header_field": b"", "header_value": b"", "out": None, "name": "", "value": bytearray(), "file": None, "parts": 0}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_headers_finished() -> None:
        state["parts"] += 1
        if state["parts"] > MAX_PARTS:
            raise ValidationError(f"Too many parts in the form (more than {MAX_PARTS}).")
        _, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            path = directory / uuid.uuid4().hex
            incoming = IncomingFile(filename.decode("utf-8", "replace"), path, 0)
            form.files.append((state["name"], incoming))
            state["file"], state["out"] = incoming, open(path, "wb")
        else:
            state["file"], state["value"] = None, bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["file"] is not None:
            state["out"].write(data[start:end])
            state["file"].size += end - start
        else:
            state["value"] += data[start:end]
            if len(state["value"]) > MAX_FIELD_BYTES:
                raise ValidationError({state["name"]: ["This field is too long."]})

    def on_part_end() -> None:
        if state["file"] is not None:
            state["out"].close()
            state["out"] = None
        else:
            form.fields[state["name"]] = state["value"].decode("utf-8", "replace")
        state["headers"] = {}

    parser = MultipartParser(boundary, {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body_bytes:
                raise PayloadTooLarge()
            parser.write(chunk)
        parser.finalize()
    except (PayloadTooLarge, ValidationError):
        _abort(state, form)
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        _abort(state, form)
        raise ValidationError(f"Multipart form parse error - {exc}")
    if state["out"] is not None:  # body ended inside a file part
        _abort(state, form)
        raise ValidationError("Multipart form parse error - the body ended inside a part")
    return form


def _abort(state: dict, form: MultipartForm) -> None:
    if state["out"] is not None:
        state["out"].close()
    form.remove_files()


async def spool_body(request: Request, settings: Settings, name: str) -> MultipartForm:
    """The whole body written to one incoming file (a big JSON import), as if uploaded as `name`."""
    path = incoming_dir(settings) / uuid.uuid4().hex
    incoming = IncomingFile(name, path, 0)
    form = MultipartForm(files=[("file", incoming)])
    try:
        with open(path, "wb") as out:
            async for chunk in request.stream():
                incoming.size += len(chunk)
                if incoming.size > settings.max_body_bytes:
                    raise PayloadTooLarge()
                out.write(chunk)
    except BaseException:
        form.remove_files()
        raise
    return form
