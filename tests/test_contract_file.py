"""The OpenAPI contract kept in the repository agrees with the official spec, when the spec is at hand."""
import json

import pytest

from tests.contract.generate import DEFAULT_SPEC, build_contract, load_spec, render
from tests.openapi_contract import CONTRACT_PATH


@pytest.mark.skipif(not DEFAULT_SPEC.exists(), reason=f"the spec is not at {DEFAULT_SPEC}")
def test_contract_file_is_generated_from_the_spec():
    expected = render(build_contract(load_spec(DEFAULT_SPEC)))
    assert CONTRACT_PATH.read_text() == expected, "regenerate it: .venv/bin/python -m tests.contract.generate"


def test_contract_keeps_what_the_checks_need_and_no_prose():
    contract = json.loads(CONTRACT_PATH.read_text())
    operation = contract["paths"]["/api/projects/{id}/"]["get"]
    assert operation["operationId"] == "get" and operation["x-edition"] == "community"
    assert operation["parameters"][0] == {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LseProjectResponse"}
    assert contract["paths"]["/api/activity-logs/"]["get"]["x-edition"] == "enterprise"
    # `title` and `description` are project fields, kept; the keywords of the same names are prose, dropped.
    project = contract["components"]["schemas"]["LseProjectResponse"]
    assert {"title", "description"} <= project["properties"].keys()
    assert "description" not in json.dumps(operation) and "<Card" not in CONTRACT_PATH.read_text()
