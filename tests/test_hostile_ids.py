"""Ids no row can have (beyond 32 bits, beyond 64 bits, negative) and NUL characters never reach the
database, whose drivers would fail (SQLite: OverflowError; PostgreSQL: integer out of range, NUL in
text or JSON): a path id is "no such object" (404, as Label Studio answers), query strings and bodies
are a 400 or match nothing, GraphQL global ids name nothing and cursors are refused."""
from __future__ import annotations

import base64
import re

import pytest

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="a"/></Choices></View>'
HUGE = [2**31, 2**63, 2**64]


@pytest.fixture
def project_id(actor) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Hostile ids", "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _int_parameter_routes(app):
    for route in app.routes:
        path = getattr(route, "path", "")
        if re.search(r"\{\w+:int\}", path) and getattr(route, "include_in_schema", True):
            yield path, sorted(set(route.methods) - {"HEAD"})


@pytest.mark.parametrize("huge", HUGE)
def test_every_path_id_beyond_the_database_range_is_404(app, actor, project_id, huge):
    checked = 0
    for path, methods in _int_parameter_routes(app):
        # The first id the real project (so nested routes get as far as their own id), every other huge.
        names = re.findall(r"\{(\w+):int\}", path)
        for position in range(len(names)):
            values = iter([str(project_id) if index != position and index == 0 else str(huge) for index in range(len(names))])
            url = re.sub(r"\{\w+:int\}", lambda _: next(values), path)
            for method in methods:
                response = actor.client.request(method, url, json={})
                # 405 when another route of the same path answers other methods (POST /api/tasks/{id}/).
                assert response.status_code in (404, 405), f"{method} {url} -> {response.status_code} {response.text[:200]}"
                assert response.status_code == 404 or method == "POST"
                assert response.json()["status_code"] == response.status_code
                checked += 1
    assert checked > 60


def test_issue_examples_are_404(actor, project_id):
    for url in ("/api/projects/18446744073709551616/", f"/api/projects/{project_id}/exports/9223372036854775808/download",
                "/api/projects/2147483648/", "/api/projects/" + "9" * 30 + "/exports/"):
        response = actor.client.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"] == "Not found."
    # Leading zeros still name the project.
    assert actor.client.get(f"/api/projects/000{project_id}/").json()["id"] == project_id


@pytest.mark.parametrize("huge", [*HUGE, -(2**63) - 1])
def test_ids_in_query_strings_and_bodies(actor, project_id, huge):
    c = actor.client
    # A list filter by ids matches nothing.
    listed = c.get("/api/projects/", params={"ids": str(huge)})
    assert listed.status_code == 200 and listed.json()["results"] == []
    assert c.get("/api/projects/", params={"ids": f"{project_id},{huge}"}).json()["count"] == 1
    # A filter naming a project: no such project.
    refused = c.get("/api/webhooks/", params={"project": str(huge)})
    assert refused.status_code == 400 and "project" in refused.json()["validation_errors"]
    # A snapshot's view that cannot exist is ignored, as an unknown view is (Label Studio).
    created = c.post(f"/api/projects/{project_id}/exports/", json={"task_filter_options": {"view": huge}})
    if -(2**63) <= huge < 2**64:  # orjson reads other numbers as floats: not an integer, a 400
        assert created.status_code == 201, created.text
    else:
        assert created.status_code == 400
    # Switching to an organization that cannot exist.
    switched = c.patch("/api/current-user", json={"active_organization": huge})
    assert switched.status_code == 400
    assert c.get("/api/current-user").json()["active_organization"] == actor.organization_id


def test_nul_characters_are_a_400_in_bodies_queries_and_files(actor, project_id):
    c = actor.client
    for response in (
        c.patch(f"/api/projects/{project_id}/", json={"title": "with \x00 inside"}),
        c.post(f"/api/projects/{project_id}/import", json=[{"text": "a\x00b"}]),
        c.post(f"/api/projects/{project_id}/import", json=[{"text\x00": "key"}]),
        c.get("/api/projects/", params={"title": "a\x00"}),
        c.get("/api/projects/", params={"search\x00": "x"}),
    ):
        assert response.status_code == 400, response.text
        assert response.json()["detail"] == "Null characters are not allowed."
    for name, content in (("t.json", b'[{"text": "a\\u0000b"}]'), ("t.jsonl", b'{"text": "\\u0000"}\n'),
                          ("t.csv", b"text\na\x00b\n"), ("t.tsv", b"text\na\x00b\n"), ("t.txt", b"a\x00b\n")):
        response = c.post(f"/api/projects/{project_id}/import", files={"file": (name, content)})
        assert response.status_code == 400, (name, response.text)
        assert "Null characters are not allowed." in str(response.json()["validation_errors"])
    # An escaped backslash is not a NUL: stored as it was sent.
    kept = c.post(f"/api/projects/{project_id}/import?return_task_ids=true", json=[{"text": "a\\u0000b"}])
    assert kept.status_code == 201, kept.text
    assert c.get(f"/api/tasks/{kept.json()['task_ids'][0]}/").json()["data"] == {"text": "a\\u0000b"}
    assert c.get(f"/api/projects/{project_id}/").json()["title"] == "Hostile ids"


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("pk", ["99999999999999999999", "9223372036854775808", "2147483648", "-1", "0", " 1", "1_0", "١"])
def test_graphql_global_ids_out_of_range_name_nothing(actor, project_id, pk):
    response = actor.client.post("/graphql", json={"query": "query($id: ID!) { node(id: $id) { id } }",
                                                   "variables": {"id": _encoded(f"Project:{pk}")}})
    assert response.status_code == 200 and response.json() == {"data": {"node": None}}
    project = actor.client.post("/graphql", json={"query": "query($id: ID!) { project(id: $id) { id } }",
                                                  "variables": {"id": _encoded(f"Project:{pk}")}})
    assert project.status_code == 200 and project.json()["data"] == {"project": None}


@pytest.mark.parametrize("cursor", ["cursor:99999999999999999999", "cursor:2147483648", "cursor:-5",
                                    "offset:99999999999999999999"])
def test_graphql_cursors_out_of_range_are_refused(actor, project_id, cursor):
    query = "query($after: String) { projects(first: 1) { edges { node { tasks(first: 5, after: $after) { totalCount } } } } }"
    for text in (query, "query($after: String) { projects(first: 5, after: $after) { totalCount } }"):
        response = actor.client.post("/graphql", json={"query": text, "variables": {"after": _encoded(cursor)}})
        assert response.status_code == 200
        [error] = response.json()["errors"]
        assert error["message"].startswith("Invalid cursor")
