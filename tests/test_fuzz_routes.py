"""No route answers 5xx, whatever it is sent: every operation of the served OpenAPI document
(/docs/api/schema/json/) gets hostile path parameters (huge, negative, zero, non-numeric, unicode,
'..', very long), query strings and JSON bodies (wrong types, deep nesting, huge numbers, nulls,
empty, unicode), against an app with real data (a project with tasks, annotations, predictions,
a view, an upload and a snapshot; a second organization).

Hypothesis only generates (derandomized, a fixed number of examples per operation, so CI runs the
same requests every time); every 5xx is collected and reported at the end with its request.
Nothing reaches the network: URL-like fields only get loopback, link-local or malformed URLs,
which the outgoing URL policy refuses before connecting."""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from tests.test_export_formats import BBOX, rectangle

# More for a deeper local run: LABELGRAPH_FUZZ_EXAMPLES=200 (LABELGRAPH_FUZZ_SEED=<n> for other requests).
EXAMPLES_PER_OPERATION = int(os.environ.get("LABELGRAPH_FUZZ_EXAMPLES", "8"))
FUZZ_SEED = os.environ.get("LABELGRAPH_FUZZ_SEED")

HUGE_NUMBERS = [2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -1, -(2**31), -(2**63), -(2**63) - 1, 0]
HOSTILE_STRINGS = [
    "", " ", "0", "-1", "1.5", "1e309", "NaN", "inf", "null", "true", "false", "[]", "{}", "[1,2]", '{"a":1}',
    *(str(number) for number in HUGE_NUMBERS), "9" * 400, "..", "../..", "%2e%2e", "\x00", "a\x00b", "é", "🙂",
    "\u202e", "\ufeff", "a" * 5000, "[" * 1000, "' OR 1=1 --", "<script>x</script>", "1,2,3", ",", "[9223372036854775808]",
    '["a"]', "[null]", "[-1]", "[[[]]]", '{"$gt": 1}', "*", "%", "_", "\\", "ids", "id", "-id", "__all__",
]
HOSTILE_PATH_VALUES = [
    "0", "00000000000000000000001", "-1", *(str(number) for number in HUGE_NUMBERS if number > 0), "9" * 100, "1.0",
    "abc", "%2e%2e", "..%2f..%2fsecret_key", "%00", "%F0%9F%99%82", "%EF%BC%91", "a" * 3000, "%20", "1%3B2",
]
# Fields that name somewhere to connect to: only places the outgoing URL policy refuses, never a
# host that needs DNS.
URL_KEYS = {"url", "hostname", "endpoint", "presign", "uri"}
SAFE_URLS = ["http://127.0.0.1:1/", "http://[::1]:1/x", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:1/",
             "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:1/", "http://", "not a url", "", None, 1,
             ["http://127.0.0.1:1/"], {"url": "http://127.0.0.1:1/"}, "http://10.0.0.1:1/", "http://127.0.0.1:99999/"]
# Query parameters and body fields the views read (rest_compat/endpoints, core use cases).
QUERY_KEYS = [
    "project", "task", "view", "ids", "ids[]", "page", "page_size", "fields", "include", "omit", "ordering",
    "export_type", "exportType", "download_all_tasks", "download_resources", "interpolate_key_frames", "all", "q",
    "query", "mode", "label_config", "is_interactive", "batch_size", "id", "format", "commit_to_project",
    "return_task_ids", "preannotated_from_fields", "task_ids", "was_cancelled", "desc", "contributed_to_projects",
    "limit", "before", "uuid", "resolve_uri", "selectedItems", "filters", "completed_by", "user", "title",
]
BODY_KEYS = [
    "id", "project", "task", "tasks", "ids", "title", "description", "label_config", "result", "data", "meta",
    "score", "model_version", "cluster", "lead_time", "was_cancelled", "ground_truth", "completed_by", "selectedItems",
    "selected_items", "filters", "ordering", "hiddenColumns", "columnsDisplayType", "order", "views", "file_upload_ids",
    "annotation", "annotations", "predictions", "draft", "annotation_draft_id", "review", "parent_annotation",
    "parent_prediction", "import_id", "is_labeled", "inner_id", "overlap", "email", "username", "password",
    "first_name", "last_name", "active_organization", "allow_newsletters", "custom_hotkeys", "token", "refresh",
    "legacy_api_tokens_enabled", "api_tokens_enabled", "api_token_ttl_days", "actions", "send_payload",
    "send_for_all_actions", "headers", "is_active", "signed", "timeout", "is_interactive", "auth_method",
    "basic_auth_user", "basic_auth_pass", "extra_params", "export_type", "download_resources", "task_filter_options",
    "annotation_filter_options", "serialization_options", "interpolate_key_frames", "event_key", "event_time",
    "batch_size", "context", "params", "new_label_name", "old_label_name", "control_tag", "maximum_annotations",
    "sampling", "color", "control_weights", "pinned_at", "show_skip_button", "expert_instruction", "role",
    "user_id", "ml_backend_id", "query", "text", "image", "unique_id", "bulk_created", "mislabeling",
    "commit_to_project", "return_task_ids", "preannotated_from_fields", "value", "items", "conjunction", "filter",
    "operator", "type",
]
# Kept last (and in this order): they delete the fixture's objects or end the caller's access.
LAST_OPERATIONS = [
    ("POST", "/api/jwt/settings"), ("PATCH", "/api/session-policy/"), ("POST", "/api/token/blacklist/"),
    ("POST", "/api/current-user/reset-token/"),
]


def leaf_values():
    return st.one_of(
        st.none(), st.booleans(), st.sampled_from(HUGE_NUMBERS), st.integers(),
        st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(HOSTILE_STRINGS), st.text(max_size=30),
    )


def json_values():
    return st.recursive(
        leaf_values(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(BODY_KEYS), st.text(max_size=10)), children, max_size=4),
        ),
        max_leaves=12,
    )


def without_urls(value):
    """Any URL-like field replaced by a URL the outgoing policy refuses (no DNS, no connection)."""
    if isinstance(value, dict):
        return {key: (SAFE_URLS[len(str(key)) % len(SAFE_URLS)] if str(key).lower() in URL_KEYS else without_urls(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [without_urls(item) for item in value]
    return value


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


RAW_BODIES = [b"", b" ", b"null", b"[]", b"{}", b'"text"', b"0", b"-1", b"[" * 5000 + b"]" * 5000, nested(200), nested(2000),
              b"{", b'{"a":}', b"\xff\xfe\x00", b'{"project": 18446744073709551616}', b'{"project": 1e400}',
              b'{"ids": [9223372036854775808]}', b"NaN", b'{"a": NaN}', b"\x00", b'"\\u0000"', b'{"\\u0000": "\\u0000"}']


@dataclass
class Fixture:
    ids: dict[str, list[str]]  # path parameter name -> real ids to mix in
    query_values: list[str]
    failures: list[str] = field(default_factory=list)


def build_fixture(actor, stranger) -> Fixture:
    """One project with every kind of object in `actor`'s organization, another in `stranger`'s."""
    c = actor.client
    project = c.post("/api/projects/", json={"title": "Fuzzed", "label_config": BBOX}).json()["id"]
    imported = c.post(f"/api/projects/{project}/import?return_task_ids=true",
                      json=[{"image": f"http://127.0.0.1:1/{n}.png"} for n in range(3)]).json()
    tasks = imported["task_ids"]
    annotations = [c.post(f"/api/tasks/{task}/annotations/", json={"result": [rectangle(1, 2, 3, 4, "Cat")]}).json()["id"]
                   for task in tasks[:2]]
    prediction = c.post("/api/predictions/", json={"task": tasks[0], "result": [rectangle(5, 5, 5, 5, "Dog")], "score": 0.5}).json()["id"]
    view = c.post("/api/dm/views/", json={"project": project, "data": {"title": "tab"}}).json()["id"]
    upload = c.post(f"/api/projects/{project}/import?commit_to_project=false", files={"file": ("a.png", b"png")}).json()
    [upload_id] = upload["file_upload_ids"]
    stored = c.get(f"/api/import/file-upload/{upload_id}").json()["file"]
    export = c.post(f"/api/projects/{project}/exports/", json={}).json()["id"]
    foreign = stranger.client.post("/api/projects/", json={"title": "Foreign", "label_config": BBOX}).json()["id"]
    numbers = [project, *tasks, *annotations, prediction, view, upload_id, export, foreign, actor.user_id, actor.organization_id]
    as_text = [str(number) for number in numbers]
    return Fixture(
        ids={
            "id": as_text, "export_pk": [str(export)], "import_pk": [str(upload.get("import") or 1)],
            "completion_id": [str(annotation) for annotation in annotations], "user_pk": [str(actor.user_id), str(stranger.user_id)],
            "action_id": ["delete_tasks", "predictions_to_annotations", "retrieve_tasks_predictions", "remove_duplicates"],
            "filename": [stored.removeprefix("upload/"), f"{project}/..%2f..%2fsecret_key", f"{foreign}/a.png"],
        },
        query_values=as_text,
    )


def operations(schema: dict) -> list[tuple[str, str]]:
    found = [(method.upper(), path) for path, item in schema["paths"].items() for method in item]
    last = [operation for operation in LAST_OPERATIONS if operation in found]
    rest = [operation for operation in found if operation not in last]
    # Reads first, then writes, then deletions, then what ends the caller's access.
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    return sorted(rest, key=lambda operation: (rank.get(operation[0], 1), operation[1])) + last


def request_strategy(path: str, fixture: Fixture):
    names = re.findall(r"\{(\w+)\}", path)
    path_values = {name: st.one_of(st.sampled_from(fixture.ids.get(name, ["1"])), st.sampled_from(HOSTILE_PATH_VALUES),
                                   st.text(min_size=1, max_size=20).map(lambda text: quote(text, safe="")))
                   for name in names}
    query_value = st.one_of(st.sampled_from(fixture.query_values), st.sampled_from(HOSTILE_STRINGS), st.text(max_size=20),
                            json_values().map(json.dumps))
    query = st.lists(st.tuples(st.sampled_from(QUERY_KEYS), query_value), max_size=4)
    body = st.one_of(
        st.sampled_from(RAW_BODIES),
        json_values().map(lambda value: json.dumps(without_urls(value)).encode()),
        st.dictionaries(st.sampled_from(BODY_KEYS), json_values(), min_size=1, max_size=6)
        .map(lambda value: json.dumps(without_urls(value)).encode()),
    )
    return st.tuples(st.fixed_dictionaries(path_values), query, body, st.sampled_from(["actor"] * 5 + ["stranger", "anonymous"]))


def fuzz_operation(method: str, path: str, fixture: Fixture, clients: dict) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=FUZZ_SEED is None, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @seed(int(FUZZ_SEED or 0))
    @given(request_strategy(path, fixture))
    def run(request):
        path_values, query, body, who = request
        url = re.sub(r"\{(\w+)\}", lambda match: path_values[match.group(1)], path)
        response = clients[who].request(method, url, params=query, content=body if method != "GET" else None,
                                        headers={"Content-Type": "application/json"})
        if response.status_code >= 500:
            fixture.failures.append(f"{method} {url} params={query!r} body={body[:300]!r} as {who} -> "
                                    f"{response.status_code} {response.text[:200]}")

    run()


def test_no_route_answers_5xx(client, actor, stranger):
    schema = client.get("/docs/api/schema/json/").json()
    fixture = build_fixture(actor, stranger)
    clients = {"actor": actor.client, "stranger": stranger.client, "anonymous": client}
    for method, path in operations(schema):
        fuzz_operation(method, path, fixture, clients)
    assert not fixture.failures, "\n".join(fixture.failures)
