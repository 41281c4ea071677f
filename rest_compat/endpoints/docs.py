"""/docs/api/schema/json/ and /swagger.json: the generated OpenAPI document; /docs/api/: a browsable page."""
from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rest_compat.http import json_response
from rest_compat.openapi import build_openapi


def _document(request: Request) -> dict:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = build_openapi(request.app.routes, state.settings.version)
    return state.openapi


async def schema_json(request: Request):
    return json_response(_document(request))


async def docs_page(request: Request):
    document = _document(request)
    rows = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['tags'][0])}</td><td>{html.escape(operation['summary'])}</td></tr>"
            )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Labelgraph API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:2px 10px;border-bottom:1px solid #eee}</style></head>"
        f"<body><h1>{html.escape(document['info']['title'])} {html.escape(document['info']['version'])}</h1>"
        "<p>Machine-readable: <a href='/docs/api/schema/json/'>/docs/api/schema/json/</a>. "
        "GraphQL with GraphiQL: <a href='/graphql'>/graphql</a>.</p>"
        f"<table><tr><th>method</th><th>path</th><th>tag</th><th>summary</th></tr>{''.join(rows)}</table></body></html>"
    )
    return HTMLResponse(page)


routes = [
    Route("/docs/api/schema/json/", schema_json, methods=["GET"], include_in_schema=False),
    Route("/swagger.json", schema_json, methods=["GET"], include_in_schema=False),
    Route("/docs/api/", docs_page, methods=["GET"], include_in_schema=False),
]
