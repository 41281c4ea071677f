"""Checks responses against the official Label Studio OpenAPI spec, as kept in the repository by
tests/contract/label-studio-contract.json (derived from the spec by tests/contract/generate.py).

`assert_matches_spec(response, "GET", "/api/projects/{id}/")` looks up the response schema for
the status code and checks, recursively: required keys are present, no key is undeclared
(unless the schema allows additional properties), and JSON types agree with the schema."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

CONTRACT_PATH = Path(__file__).resolve().parent / "contract" / "label-studio-contract.json"

_JSON_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


_NULLABLE_LIST = {"type": ["array", "null"], "items": {"type": "object"}}
_NULLABLE_STRING = {"type": ["string", "null"]}
_PROJECT_AMENDMENTS = {"members": _NULLABLE_LIST, "prompts": _NULLABLE_LIST, "workspace": {"type": ["integer", "null"]}}

# Where Label Studio 1.23.2 answers otherwise than its spec says, Labelgraph answers as Label Studio
# does (and as label-studio-sdk 2.1.2's models declare): these properties replace or join the spec's.
LABEL_STUDIO_AMENDMENTS = {
    # OrganizationSerializer's fields beyond the spec's.
    "LseOrganization": {
        "updated_at": {"type": "string", "format": "date-time"},
        "contact_info": _NULLABLE_STRING,
        "created_by": {"type": ["integer", "null"]},
        "users": {"type": "array", "items": {"type": "integer"}},
    },
    # The SDK's models: lists and an id, null in the community edition, not the spec's strings.
    "LseProjectResponse": _PROJECT_AMENDMENTS,
    "LseProjectUpdate": {"prompts": _NULLABLE_LIST},
    # The list carries the data source credentials too.
    "AllRolesProjectList": {
        **_PROJECT_AMENDMENTS, "task_data_login": _NULLABLE_STRING, "task_data_password": _NULLABLE_STRING,
    },
}


@functools.lru_cache(maxsize=1)
def spec() -> dict:
    """The spec without its prose: paths, operations and the component schemas they use, with
    LABEL_STUDIO_AMENDMENTS applied."""
    with open(CONTRACT_PATH) as f:
        contract = json.load(f)
    for name, properties in LABEL_STUDIO_AMENDMENTS.items():
        contract["components"]["schemas"][name]["properties"].update(properties)
    return contract


def resolve(schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = spec()["components"]["schemas"][name]
    return schema


def response_schema(method: str, path: str, status: int) -> dict | None:
    responses = spec()["paths"][path][method.lower()]["responses"]
    # A response without a body is an empty object in the contract: still documented.
    response = responses[str(status)] if str(status) in responses else responses.get("default")
    if response is None:
        raise AssertionError(f"{method} {path} has no documented {status} response")
    content = response.get("content", {})
    media = content.get("application/json") or next(iter(content.values()), None)
    return resolve(media["schema"]) if media and "schema" in media else None


def schema_errors(value: Any, schema: dict, where: str = "$") -> list[str]:
    schema = resolve(schema)
    if not schema:
        return []
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            options = [schema_errors(value, option, where) for option in schema[combinator]]
            return [] if any(not errs for errs in options) else min(options, key=len)
    if "allOf" in schema:
        return [e for part in schema["allOf"] for e in schema_errors(value, part, where)]
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if schema.get("nullable"):
            types = [*types, "null"]
        allowed = tuple(t for name in types for t in (_JSON_TYPES[name] if isinstance(_JSON_TYPES[name], tuple) else (_JSON_TYPES[name],)))
        if isinstance(value, bool) and bool not in allowed:
            return [f"{where}: expected {types}, got boolean"]
        if not isinstance(value, allowed):
            return [f"{where}: expected {types}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"] and value is not None:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    errors: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        properties = schema["properties"]
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: missing required key {key!r}")
        # An object declared with no properties at all (e.g. result regions) is free-form.
        extra = schema.get("additionalProperties", not properties)
        for key, item in value.items():
            if key in properties:
                errors.extend(schema_errors(item, properties[key], f"{where}.{key}"))
            elif extra is False:
                errors.append(f"{where}: undeclared key {key!r}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value[:5]):
            errors.extend(schema_errors(item, schema["items"], f"{where}[{index}]"))
    return errors


def assert_matches_spec(response, method: str, path: str) -> Any:
    """Asserts the response body agrees with the spec's schema for its status; returns the JSON."""
    schema = response_schema(method, path, response.status_code)
    body = response.json() if response.content else None
    if schema is not None:
        errors = schema_errors(body, schema)
        assert not errors, f"{method} {path} -> {response.status_code} disagrees with the spec:\n" + "\n".join(errors)
    return body
