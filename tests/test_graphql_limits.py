"""GraphQL limits: fragment explosion, cycles, depth and aliases through fragments, over-long
documents and deeply nested JSON are refused quickly with GraphQL errors, over HTTP and websockets,
and the server keeps answering other requests meanwhile."""
from __future__ import annotations

import threading
import time

import httpx
import pytest
from graphql import get_introspection_query
from starlette.websockets import WebSocketDisconnect

from graphql_api.limits import MAX_QUERY_LENGTH
from tests.test_graphql import create_project, create_task, post, run
from tests.test_graphql_jobs import connect


def doubling_fragments(levels: int) -> str:
    """`levels` fragments, each spreading the previous one twice: 2^(levels-1) copies of F0's fields."""
    fragments = ["fragment F0 on User { id }"] + [f"fragment F{n} on User {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, levels)]
    return "{ me { ...F%d } }\n%s" % (levels - 1, "\n".join(fragments))


def errors_of(response) -> list[str]:
    body = response.json()
    assert body.get("data") is None, body
    return [error["message"] for error in body["errors"]]


@pytest.mark.parametrize("levels", [20, 39])
def test_fragment_explosion_is_refused_quickly(actor, levels):
    query = doubling_fragments(levels)
    assert len(query) < 1700 and query.count("{") < 100  # far within the token limit
    started = time.monotonic()
    response = post(actor.client, query)
    elapsed = time.monotonic() - started
    expected = 2 ** (levels - 1) + 1 if levels == 20 else "more than 1000000"  # F0's field copies, and `me`
    assert errors_of(response) == [f"'anonymous' selects {expected} fields once its fragments are expanded. Allowed: 5000"]
    assert elapsed < 1


def test_fragment_cycle_is_refused(actor):
    response = post(actor.client, "{ me { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }")
    assert errors_of(response) == ["Cannot spread fragment 'A' within itself via 'B'."]


def test_unknown_fragment_is_a_validation_error(actor):
    assert errors_of(post(actor.client, "{ me { ...Missing } }")) == ["Unknown fragment 'Missing'."]


def test_query_with_many_fragments_still_works(actor):
    project = create_project(actor)
    create_task(actor, project["id"], "first")
    create_task(actor, project["id"], "second")
    # 30 fragments, each spread in several places: a few hundred fields once expanded.
    fragments = "\n".join(f"fragment P{n} on Project {{ id title taskNumber }}" for n in range(25))
    fragments += "\nfragment T on Task { id data } fragment Page on TaskConnection { totalCount edges { node { ...T } } }"
    fragments += "\nfragment Tasks on Project { tasks(first: 10) { ...Page } } fragment Everything on Project { %s ...Tasks }" % (
        " ".join(f"...P{n}" for n in range(25)))
    data = run(actor.client, "{ projects { edges { node { ...Everything ...Tasks ...P0 } } } }\n" + fragments)
    node = data["projects"]["edges"][0]["node"]
    assert node["title"] == "Reviews" and node["taskNumber"] == 2
    assert sorted(edge["node"]["data"]["text"] for edge in node["tasks"]["edges"]) == ["first", "second"]


def test_depth_counts_through_fragments(actor):
    # 11 levels of fields with selections, split over three fragments.
    query = """{ projects { edges { node { ...A } } } }
        fragment A on Project { tasks { edges { node { ...B } } } }
        fragment B on Task { annotations { task { project { ...C } } } }
        fragment C on Project { tasks { edges { node { id } } } }"""
    assert errors_of(post(actor.client, query)) == ["'anonymous' exceeds maximum operation depth of 10"]
    ten_levels = query.replace("fragment C on Project { tasks { edges { node { id } } } }", "fragment C on Project { tasks { totalCount } }")
    assert run(actor.client, ten_levels) == {"projects": {"edges": []}}


def test_aliases_count_every_spread_of_a_fragment(actor):
    aliased = " ".join(f"a{n}: id" for n in range(16))
    query = "{ me { ...A ...B } } fragment A on User { %s } fragment B on User { ...A }" % aliased
    assert errors_of(post(actor.client, query)) == ["32 aliases found. Allowed: 30"]


def test_graphiql_introspection_query_still_works(actor):
    data = run(actor.client, get_introspection_query(descriptions=True, directive_is_repeatable=True))
    assert any(t["name"] == "Project" for t in data["__schema"]["types"])


def test_many_copies_of_one_field_are_refused_quickly(actor):
    # graphql-core compares every pair of same-named fields; its budget is lowered to keep this short.
    started = time.monotonic()
    response = post(actor.client, "{" + " me { id }" * 1200 + " }")
    elapsed = time.monotonic() - started
    assert errors_of(response) == [
        "Validation aborted: a selection repeats the same field or fragment too many times; select each once."]
    assert elapsed < 2


def test_over_long_document_is_a_400(actor):
    response = post(actor.client, "{ me { id } }" + " " * MAX_QUERY_LENGTH)
    assert response.status_code == 400
    assert errors_of(response) == [f"The document is {MAX_QUERY_LENGTH + 13} characters long. Allowed: {MAX_QUERY_LENGTH}; "
                                   "pass large values as variables."]


def test_deeply_nested_variables_are_a_400(actor):
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"query": "query($v: JSON) { me { id } }", "variables": {"v": %s}}' % deep
    response = actor.client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert errors_of(response)[0].startswith("JSON parse error - ")
    # Over GET, as far as a URL goes.
    deep = "[" * 5000 + "]" * 5000
    response = actor.client.get("/graphql", params={"query": "{ me { id } }", "variables": '{"v": %s}' % deep})
    assert response.status_code == 400
    assert errors_of(response)[0].startswith("JSON parse error - ")


def test_malformed_json_is_a_graphql_shaped_400(actor):
    response = actor.client.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert errors_of(response)[0].startswith("JSON parse error - ")


def test_limits_apply_over_websockets(actor):
    with actor.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws, {"Authorization": f"Token {actor.token}"})
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": doubling_fragments(39)}})
        message = ws.receive_json()
        assert message["type"] == "error" and message["id"] == "1"
        assert "fields once its fragments are expanded" in message["payload"][0]["message"]
        ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": "{ me { id } }" + " " * MAX_QUERY_LENGTH}})
        message = ws.receive_json()
        assert message["type"] == "error" and "characters long" in message["payload"][0]["message"]
        # The connection still serves well-behaved operations.
        ws.send_json({"id": "3", "type": "subscribe", "payload": {"query": "{ me { email } }"}})
        assert ws.receive_json() == {"id": "3", "type": "next", "payload": {"data": {"me": {"email": actor.email}}}}


def test_deeply_nested_websocket_message_closes_the_connection(actor):
    with actor.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        connect(ws, {"Authorization": f"Token {actor.token}"})
        deep = "[" * 100_000 + "]" * 100_000
        ws.send_text('{"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "variables": {"v": %s}}}' % deep)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4400


def test_health_answers_while_hostile_queries_run(live_server, actor):
    hostile = ["{" + " me { id }" * 1200 + " }", doubling_fragments(39)]
    stop = threading.Event()

    def attack(query: str) -> None:
        with httpx.Client(base_url=live_server, headers={"Authorization": f"Token {actor.token}"}, timeout=30) as attacker:
            while not stop.is_set():
                attacker.post("/graphql", json={"query": query})

    attackers = [threading.Thread(target=attack, args=(query,)) for query in hostile * 2]
    for thread in attackers:
        thread.start()
    try:
        with httpx.Client(base_url=live_server, timeout=30) as client:
            time.sleep(0.3)
            for _ in range(5):
                started = time.monotonic()
                assert client.get("/health").status_code == 200
                assert time.monotonic() - started < 1
    finally:
        stop.set()
        for thread in attackers:
            thread.join()
