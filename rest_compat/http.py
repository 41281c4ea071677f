"""Plumbing shared by every REST view: body limits, auth, one transaction per request,
domain errors rendered in Label Studio's error shape."""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from core.auth.service import sign_in
from core.context import Context
from core.db.unit_of_work import run_in_transaction
from core.errors import DomainError, PayloadTooLarge, ValidationError
from core.organizations.queries import MAX_ID
from core.pagination import PageRequest
from core.validation import NUL_MESSAGE, holds_nul

log = logging.getLogger("labelgraph.rest")

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def json_response(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status_code=status, media_type="application/json", headers=headers)


def error_body(status: int, detail: str, version: str, validation_errors: dict | None = None) -> dict:
    body = {"id": str(uuid.uuid4()), "status_code": status, "version": version, "detail": detail, "exc_info": None}
    if validation_errors is not None:
        body["validation_errors"] = validation_errors
    return body


def domain_error_response(exc: DomainError, version: str) -> Response:
    errors = exc.errors if isinstance(exc, ValidationError) else None
    headers = {"WWW-Authenticate": 'Token realm="api"'} if exc.status_code == 401 else None
    return json_response(error_body(exc.status_code, exc.detail, version, errors), exc.status_code, headers)


@dataclass
class ApiRequest:
    """What a view sees: the caller's context, path/query parameters and the raw body."""

    ctx: Context
    request: Request
    body: bytes

    @property
    def path(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def query(self):
        return self.request.query_params

    @property
    def content_type(self) -> str:
        return self.request.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self, default: Any = None) -> Any:
        if not self.body.strip():
            return default
        try:
            value = orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise ValidationError({"non_field_errors": [f"JSON parse error - {exc}"]}, detail=f"JSON parse error - {exc}")
        if b"\\u0000" in self.body and holds_nul(value):  # the scan only when the bytes may hold one
            raise ValidationError({"non_field_errors": [NUL_MESSAGE]}, detail=NUL_MESSAGE)
        return value

    def int_param(self, name: str, detail: str | None = None) -> int | None:
        """An optional integer query parameter; anything else is a field error."""
        raw = self.query.get(name)
        if raw in (None, ""):
            return None
        try:
            return int(raw)
        except ValueError:
            raise ValidationError({name: ["A valid integer is required."]}, detail=detail) from None

    def flex_param(self, name: str) -> list[str] | None:
        """rest_flex_fields' `include` / `omit`: `name` or `name[]`, repeated or one comma-separated value."""
        values = self.query.getlist(name) or self.query.getlist(f"{name}[]")
        if not values:
            return None
        if len(values) == 1:
            values = values[0].split(",")
        return [value.strip() for value in values if value.strip()]

    def page_request(self, default_page_size: int = 30, max_page_size: int = 100_000) -> PageRequest:
        return PageRequest.parse(self.query.get("page"), self.query.get("page_size"), default_page_size, max_page_size)

    def url_for_page(self, page: int | None) -> str | None:
        if page is None:
            return None
        return str(self.request.url.include_query_params(page=page))


View = Callable[[ApiRequest], Any]


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def api(view: View, *, auth: bool = True, status: int = 200) -> Callable:
    """Wrap a sync view: it runs in the thread pool inside one database transaction.
    A view returns a Response, or JSON-able data (rendered with `status`), or None (204)."""

    async def endpoint(request: Request) -> Response:
        settings = request.app.state.settings
        try:
            body = await _read_body(request, settings.max_body_bytes) if request.method in BODY_METHODS else b""
        except DomainError as exc:
            return domain_error_response(exc, settings.version)
        return await run_in_threadpool(_run, view, request, body, auth, status)

    endpoint.__name__ = view.__name__
    endpoint.__doc__ = view.__doc__
    # Read by the OpenAPI generator (rest_compat/openapi.py).
    endpoint.view, endpoint.status, endpoint.auth = view, status, auth
    return endpoint


def _run(view: View, request: Request, body: bytes, auth: bool, status: int) -> Response:
    state = request.app.state
    session = state.session_factory()
    ctx = Context(session=session, settings=state.settings, ports=state.ports)

    def work() -> Any:
        if auth:
            sign_in(ctx, request.headers.get("authorization"))
        if "%00" in request.url.query and any("\x00" in part for pair in request.query_params.multi_items() for part in pair):
            raise ValidationError({"non_field_errors": [NUL_MESSAGE]}, detail=NUL_MESSAGE)
        return view(ApiRequest(ctx, request, body))

    try:
        result = run_in_transaction(session, work)
    except DomainError as exc:
        return domain_error_response(exc, state.settings.version)
    except Exception:
        log.exception("Unhandled error in %s %s", request.method, request.url.path)
        return json_response(error_body(500, "Unknown error", state.settings.version), 500)
    finally:
        session.close()
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    return json_response(result, status)


class IdRoute(Route):
    """A route whose integer path parameters ({id:int}, ...) match only ids a row can have: a larger
    number names no object (404, as Label Studio answers), never reaching the database, whose
    driver would overflow (SQLite) or reject it (PostgreSQL)."""

    def matches(self, scope):
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and any(isinstance(value, int) and value > MAX_ID
                                           for value in child_scope["path_params"].values()):
            return Match.NONE, {}
        return match, child_scope


def api_route(path: str, methods: dict[str, Callable], name: str | None = None) -> list[Route]:
    """Routes for one path with a view per method, answering with and without the trailing slash."""

    async def dispatch(request: Request) -> Response:
        handler = methods.get(request.method) or methods["GET"]  # HEAD is answered by GET
        return await handler(request)

    dispatch.methods = methods

    alternate = path[:-1] if path.endswith("/") else path + "/"
    allowed = list(methods)
    return [IdRoute(path, dispatch, methods=allowed, name=name), IdRoute(alternate, dispatch, methods=allowed, include_in_schema=False)]


def paginated(req: ApiRequest, items: list, total: int, page_request: PageRequest) -> dict:
    """Django REST framework's page-number shape: count, next, previous, results."""
    next_page = page_request.page + 1 if page_request.page * page_request.page_size < total else None
    previous_page = page_request.page - 1 if page_request.page > 1 else None
    return {"count": total, "next": req.url_for_page(next_page), "previous": req.url_for_page(previous_page), "results": items}
