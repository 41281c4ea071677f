"""GET /api/tasks/ with Data Manager views and queries, and GET /api/dm/columns/, over HTTP.

Expected ids, orders and columns were recorded from a Label Studio 1.23.2 server given the same
tasks and the same filters."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import insert

from core.data_manager.models import View
from core.db.unit_of_work import transaction

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)
POSITIVE = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
ODD_DATA = [
    {"text": "a", "a": {"b": 1}}, {"text": "b", "a.b": 1}, {"text": "c", "n": "12"}, {"text": "d", "n": 12},
    {"text": "e", "n": None}, {"text": "f"}, {"text": "g", "n": "abc"},
]


def one(column: str, operator: str, type_: str, value) -> dict:
    return {"conjunction": "and", "items": [{"filter": f"filter:tasks:{column}", "operator": operator, "type": type_, "value": value}]}


@pytest.fixture
def project(actor):
    """A project with ODD_DATA imported through the API; returns (project id, task ids)."""
    project_id = actor.client.post("/api/projects/", json={"title": "dm tasks", "label_config": CONFIG}).json()["id"]
    response = actor.client.post(f"/api/projects/{project_id}/import?return_task_ids=true", json=ODD_DATA)
    assert response.status_code == 201, response.text
    listed = actor.client.get("/api/tasks/", params={"project": project_id, "page_size": 100}).json()["tasks"]
    return project_id, [task["id"] for task in listed]


def listed(actor, project_id: int, q: dict | None = None, **params) -> dict:
    if q is not None:
        params["query"] = json.dumps(q)
    response = actor.client.get("/api/tasks/", params={"project": project_id, "page_size": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()


def ids_of(body: dict) -> list[int]:
    return [task["id"] for task in body["tasks"]]


@pytest.mark.parametrize(
    "q,expected",
    [
        ({"filters": one("data.a.b", "equal", "Number", 1)}, [1]),
        ({"filters": one("data.n", "equal", "Number", 12)}, [2, 3]),
        ({"filters": one("data.n", "equal", "String", "12")}, [2]),
        ({"filters": one("data.n", "not_equal", "String", "12")}, [3, 4, 6]),
        ({"filters": one("data.n", "not_equal", "Number", 12)}, [4, 6]),
        ({"filters": one("data.n", "empty", "String", True)}, [0, 1, 4, 5]),
        ({"filters": one("data.n", "not_contains", "String", "1")}, [4, 6]),
        ({"ordering": ["tasks:data.n"]}, [3, 2, 6, 4, 0, 1, 5]),
        ({"ordering": ["-tasks:data.n"]}, [4, 6, 2, 3, 0, 1, 5]),
        ({"ordering": ["-tasks:id"]}, [6, 5, 4, 3, 2, 1, 0]),
        ({"selectedItems": {"all": True, "excluded": []}, "ordering": ["-tasks:id", "tasks:data.n"]}, [6, 5, 4, 3, 2, 1, 0]),
    ],
)
def test_query_selects_and_orders_like_label_studio(actor, project, q, expected):
    project_id, ids = project
    body = listed(actor, project_id, q)
    assert ids_of(body) == [ids[i] for i in expected]
    assert body["total"] == len(expected)


def test_selected_items_and_pagination(actor, project):
    project_id, ids = project
    q = {"selectedItems": {"all": True, "excluded": [ids[0], ids[1]]}, "ordering": ["-tasks:id"]}
    assert ids_of(listed(actor, project_id, q)) == list(reversed(ids[2:]))
    q = {"selectedItems": json.dumps({"all": False, "included": [ids[3], ids[1]]})}  # as a JSON string, too
    assert ids_of(listed(actor, project_id, q)) == [ids[1], ids[3]]
    page = listed(actor, project_id, {"ordering": ["-tasks:id"]}, page=2, page_size=3)
    assert ids_of(page) == [ids[3], ids[2], ids[1]] and page["total"] == 7
    q = {"filters": one("data.n", "empty", "String", False)}
    assert actor.client.get("/api/tasks/", params={"project": project_id, "page": 2, "page_size": 3, "query": json.dumps(q)}).status_code == 404


def test_totals_and_computed_fields_follow_the_query(actor, project):
    project_id, ids = project
    for task_id in ids[:2]:
        assert actor.client.post(f"/api/tasks/{task_id}/annotations/", json={"result": POSITIVE}).status_code == 201
    body = listed(actor, project_id, {"filters": one("total_annotations", "greater", "Number", 0), "ordering": ["-tasks:completed_at"]})
    assert ids_of(body) == [ids[1], ids[0]]
    assert body["total"] == 2 and body["total_annotations"] == 2 and body["total_predictions"] == 0
    # Label Studio evaluates the computed columns the query uses, and only those.
    assert all(task["completed_at"] for task in body["tasks"])
    assert "predictions_score" not in body["tasks"][0]
    by_annotator = listed(actor, project_id, {"filters": one("annotators", "contains", "List", actor.user_id)})
    assert [task["annotators"] for task in by_annotator["tasks"]] == [[actor.user_id], [actor.user_id]]
    plain = listed(actor, project_id)
    assert "completed_at" not in plain["tasks"][0] and plain["tasks"][0]["annotators"] == []
    scored = listed(actor, project_id, {"ordering": ["tasks:predictions_score"]})
    assert "predictions_score" in scored["tasks"][0]
    only = listed(actor, project_id, {"ordering": ["-tasks:completed_at"]}, include="id,completed_at")
    assert set(only["tasks"][0]) == {"id", "completed_at"}


@pytest.fixture
def make_view(app):
    def make(project_id: int, user_id: int, **fields) -> int:
        with transaction(app.state.session_factory) as session:
            return session.execute(insert(View).values(**{"project_id": project_id, "user_id": user_id, "data": {"title": "Tab"}, **fields}).returning(View.id)).scalar_one()

    return make


def test_view_filters_ordering_and_selection(actor, stranger, project, make_view):
    project_id, ids = project
    view_id = make_view(
        project_id, actor.user_id,
        filters=one("data.n", "empty", "String", False), ordering=["-tasks:id"], selected_items={"all": True, "excluded": [ids[6]]},
    )
    expected = [ids[3], ids[2]]
    body = actor.client.get("/api/tasks/", params={"view": view_id}).json()
    assert ids_of(body) == expected and body["total"] == 2
    assert ids_of(listed(actor, project_id, view=view_id)) == expected
    # The view wins over a query sent along with it, as in Label Studio.
    assert ids_of(listed(actor, project_id, {"ordering": ["tasks:id"]}, view=view_id)) == expected

    other_project = actor.client.post("/api/projects/", json={"title": "other"}).json()["id"]
    mismatch = actor.client.get("/api/tasks/", params={"project": other_project, "view": view_id})
    assert mismatch.status_code == 400
    assert stranger.client.get("/api/tasks/", params={"view": view_id}).status_code == 404
    assert actor.client.get("/api/tasks/", params={"view": 99999}).status_code == 404


@pytest.mark.parametrize("ordering,expected", [("tasks:data.n", [4, 6, 2, 3, 0, 1, 5]), ("-tasks:data.n", [2, 3, 4, 6, 0, 1, 5])])
def test_view_orders_a_number_column_by_value(actor, project, make_view, ordering, expected):
    """A data column the view displays as Number orders by its value read as a number
    (null and "abc" read as 0, missing keys last), as Label Studio."""
    project_id, ids = project
    view_id = make_view(project_id, actor.user_id, ordering=[ordering], data={"columnsDisplayType": {"tasks:data.n": "Number"}})
    assert ids_of(actor.client.get("/api/tasks/", params={"view": view_id}).json()) == [ids[i] for i in expected]


def test_view_with_hidden_columns_evaluates_the_shown_computed_columns(actor, project, make_view):
    project_id, _ids = project
    hidden = ["tasks:annotations_results", "tasks:predictions_score"]
    view_id = make_view(project_id, actor.user_id, data={"hiddenColumns": {"explore": hidden, "labeling": hidden}})
    task = actor.client.get("/api/tasks/", params={"view": view_id}).json()["tasks"][0]
    assert "completed_at" in task and "avg_lead_time" in task
    assert "predictions_score" not in task


@pytest.mark.parametrize(
    "query",
    [
        "not json",
        json.dumps(["filters"]),
        json.dumps({"filters": one("nope", "equal", "Number", 1)}),
        json.dumps({"filters": one("id", "nope", "Number", 1)}),
        json.dumps({"filters": one("id", "equal", "Nope", 1)}),
        json.dumps({"filters": one("id", "greater", "Number", "many")}),
        json.dumps({"filters": one("project__organization__title", "equal", "String", "x")}),
        json.dumps({"ordering": ["tasks:nope"]}),
        json.dumps({"ordering": "tasks:id"}),
        json.dumps({"selectedItems": {"all": "yes"}}),
        json.dumps({"selectedItems": "{broken"}),
    ],
)
def test_bad_queries_are_400_in_label_studio_shape(actor, project, query):
    project_id, _ids = project
    response = actor.client.get("/api/tasks/", params={"project": project_id, "query": query})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and body["validation_errors"]


def test_regex_python_accepts_and_postgresql_refuses(db_url, actor, project):
    """SQLite matches with Python's re; PostgreSQL refuses named groups: a 400 there, not a 500."""
    project_id, ids = project
    q = json.dumps({"filters": one("data.text", "regex", "String", "(?P<name>[ab])")})
    response = actor.client.get("/api/tasks/", params={"project": project_id, "query": q})
    if db_url.startswith("sqlite"):
        assert ids_of(response.json()) == ids[:2]
    else:
        assert response.status_code == 400 and "regular expression" in response.text


def test_neither_project_nor_view(actor):
    response = actor.client.get("/api/tasks/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Neither project nor view id specified"}


# --- /api/dm/columns/ -----------------------------------------------------------------------------

def test_columns_like_label_studio(actor, stranger, project):
    project_id, _ids = project
    response = actor.client.get("/api/dm/columns/", params={"project": project_id})
    assert response.status_code == 200, response.text
    columns = response.json()["columns"]
    assert [c["id"] for c in columns] == [
        "text", "a", "a.b", "n", "id", "inner_id", "completed_at", "total_annotations", "cancelled_annotations",
        "total_predictions", "annotators", "annotations_results", "annotations_ids", "predictions_score",
        "predictions_model_versions", "predictions_results", "file_upload", "storage_filename", "created_at",
        "updated_at", "updated_by", "avg_lead_time", "draft_exists", "data",
    ]
    by_id = {c["id"]: c for c in columns}
    assert by_id["text"] == {
        "id": "text", "title": "text", "type": "String", "target": "tasks", "parent": "data",
        "visibility_defaults": {"explore": True, "labeling": True}, "project_defined": True,
    }
    assert by_id["n"]["type"] == "Unknown" and by_id["n"]["visibility_defaults"] == {"explore": True, "labeling": False}
    assert by_id["data"]["children"] == ["text", "a", "a.b", "n"]
    assert by_id["annotators"]["schema"] == {"items": [actor.user_id]}
    assert by_id["predictions_model_versions"]["schema"] == {"items": [], "multiple": True}
    assert by_id["total_annotations"]["visibility_defaults"] == {"explore": True, "labeling": True}
    assert stranger.client.get("/api/dm/columns/", params={"project": project_id}).status_code == 404
    assert actor.client.get("/api/dm/columns/", params={"project": "x"}).status_code == 400


def test_columns_of_an_empty_project_come_from_the_label_config(actor):
    project_id = actor.client.post("/api/projects/", json={"title": "empty", "label_config": CONFIG}).json()["id"]
    columns = actor.client.get("/api/dm/columns/", params={"project": project_id}).json()["columns"]
    assert columns[0]["id"] == "text" and columns[-1]["children"] == ["text"]
