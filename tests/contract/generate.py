"""Derives tests/contract/label-studio-contract.json from the official Label Studio OpenAPI spec.

The tests check responses against this contract, so they run from a fresh clone without the spec.
It keeps the spec's OpenAPI shape (paths, components.schemas) with only what a check needs:
every operation's operationId, tags, edition (`x-edition`), parameters, request body and response
schemas, and the component schemas they reach; the prose (descriptions, titles, HTML cards) is dropped.

    .venv/bin/python -m tests.contract.generate [path/to/label-studio-openapi.yml]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.openapi_contract import CONTRACT_PATH

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SPEC = REPO.parent / "shared" / "openapi" / "label-studio-openapi.yml"

PROSE_KEYS = frozenset({"description", "summary", "title", "example", "examples", "externalDocs"})
# The card the spec puts in the description of operations that only Label Studio Enterprise serves.
ENTERPRISE_CARD = "not available in Label Studio Community Edition"
_REF_PREFIX = "#/components/schemas/"


def load_spec(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def build_contract(spec: dict) -> dict:
    paths = {
        path: {method: _operation(operation) for method, operation in item.items()}
        for path, item in spec["paths"].items()
    }
    schemas = spec["components"]["schemas"]
    reachable = _reachable_schemas(paths, schemas)
    return {
        "openapi": spec["openapi"],
        "info": {"version": spec["info"]["version"]},
        "paths": paths,
        "components": {"schemas": {name: _schema(schemas[name]) for name in sorted(reachable)}},
    }


def render(contract: dict) -> str:
    # One key per line: a change in the spec shows as a small diff.
    return json.dumps(contract, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _operation(operation: dict) -> dict:
    edition = "enterprise" if ENTERPRISE_CARD in (operation.get("description") or "") else "community"
    result: dict[str, Any] = {"operationId": operation["operationId"], "tags": operation["tags"], "x-edition": edition}
    if "parameters" in operation:
        result["parameters"] = [
            {"name": p["name"], "in": p["in"], "required": p.get("required", False), "schema": _schema(p.get("schema", {}))}
            for p in operation["parameters"]
        ]
    if "requestBody" in operation:
        body = _without_prose(operation["requestBody"])
        body["content"] = _content(operation["requestBody"].get("content", {}))
        result["requestBody"] = body
    result["responses"] = {}
    for status, response in operation["responses"].items():
        result["responses"][status] = {"content": _content(response["content"])} if "content" in response else {}
    return result


def _content(content: dict) -> dict:
    return {media: ({"schema": _schema(body["schema"])} if "schema" in body else {}) for media, body in content.items()}


def _without_prose(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if key not in PROSE_KEYS}


def _schema(schema: Any) -> Any:
    """The schema without its prose. Only schema keywords are filtered: a property named
    `title` or `description` stays, and `default`/`enum` values are copied as they are."""
    if not isinstance(schema, dict):
        return schema
    result = {}
    for key, value in _without_prose(schema).items():
        if key == "properties":
            value = {name: _schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            value = _schema(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            value = [_schema(sub) for sub in value]
        result[key] = value
    return result


def _reachable_schemas(paths: dict, schemas: dict) -> set[str]:
    seen: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending |= _refs(schemas[name])
    return seen


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].removeprefix(_REF_PREFIX)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def main(argv: list[str]) -> int:
    spec_path = Path(argv[0]) if argv else DEFAULT_SPEC
    if not spec_path.exists():
        print(f"spec not found: {spec_path}", file=sys.stderr)
        return 2
    CONTRACT_PATH.write_text(render(build_contract(load_spec(spec_path))))
    print(f"wrote {CONTRACT_PATH.relative_to(REPO)} ({CONTRACT_PATH.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
