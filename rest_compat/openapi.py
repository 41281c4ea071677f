"""The server's own OpenAPI 3 document, generated from its routes (as Label Studio publishes
its schema), so tools like schemathesis can drive the API."""
from __future__ import annotations

import re
from typing import Any

from starlette.routing import BaseRoute, Route

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_CONVERTER_TYPES = {"int": "integer", "float": "number", "path": "string", "str": "string", None: "string"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def build_openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        views = getattr(route.endpoint, "methods", None)
        if not views:
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        item = paths.setdefault(path, {})
        for method, endpoint in views.items():
            item[method.lower()] = _operation(route.path, method, endpoint)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Labelgraph API (Label Studio compatible)", "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "Token": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Token <legacy token>`"},
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status_code": {"type": "integer"},
                        "version": {"type": "string"},
                        "detail": {"type": "string"},
                        "exc_info": {"nullable": True},
                        "validation_errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                    },
                    "required": ["status_code", "detail"],
                }
            },
        },
    }


def _operation(raw_path: str, method: str, endpoint) -> dict[str, Any]:
    view = getattr(endpoint, "view", endpoint)
    doc = (view.__doc__ or "").strip()
    status = str(getattr(endpoint, "status", 200))
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": _CONVERTER_TYPES.get(converter, "string")}}
        for name, converter in _PARAM.findall(raw_path)
    ]
    tag = raw_path.strip("/").split("/")[1] if raw_path.startswith("/api/") else "system"
    responses: dict[str, Any] = {
        status: {"description": "Success", "content": {"application/json": {"schema": {}}}},
        "204" if method == "DELETE" else "default": {"description": "No content" if method == "DELETE" else "Error", **({} if method == "DELETE" else {"content": {"application/json": {"schema": _ERROR_REF}}})},
        "400": {"description": "Bad request", "content": {"application/json": {"schema": _ERROR_REF}}},
        "404": {"description": "Not found", "content": {"application/json": {"schema": _ERROR_REF}}},
    }
    operation: dict[str, Any] = {
        "operationId": method.lower() + "_" + re.sub(r"\W+", "_", _PARAM.sub(r"\1", raw_path)).strip("_"),
        "summary": doc.splitlines()[0] if doc else view.__name__.replace("_", " ").capitalize(),
        "tags": [tag],
        "parameters": parameters,
        "responses": responses,
    }
    if len(doc.splitlines()) > 1:
        operation["description"] = doc
    if getattr(endpoint, "auth", True):
        operation["security"] = [{"Token": []}, {"Bearer": []}]
        responses["401"] = {"description": "Not authenticated", "content": {"application/json": {"schema": _ERROR_REF}}}
    if method in ("POST", "PUT", "PATCH"):
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": {}}}}
    return operation
