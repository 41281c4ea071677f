"""Data Manager views (/api/dm/views/...) as Label Studio 1.23.2 answers them (checked against a
running Label Studio): filters/ordering/selectedItems rendered inside `data`, its ordering
quirks, org scoping, and bad input refused with nothing written."""
from __future__ import annotations

from sqlalchemy import func, select

from core.data_manager.models import View
from tests.openapi_contract import assert_matches_spec

CONFIG = '<View><Text name="text" value="$text"/><Choices name="label" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'

FILTERS = {
    "conjunction": "and",
    "items": [
        {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": 1},
        {
            "filter": "filter:tasks:data.text",
            "operator": "contains",
            "type": "String",
            "value": "x",
            "child_filter": {"filter": "filter:tasks:id", "operator": "less", "type": "Number", "value": 100},
        },
    ],
}
TAB_DATA = {
    "title": "Tab 1",
    "hiddenColumns": {"explore": ["tasks:inner_id"], "labeling": []},
    "columnsWidth": {"tasks:id": 80},
    "columnsDisplayType": {},
    "gridWidth": 4,
}


def make_project(actor, title="DM views") -> int:
    response = actor.client.post("/api/projects/", json={"title": title, "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def create_view(actor, project_id, data=None, **extra):
    body = {"project": project_id, **extra}
    if data is not None:
        body["data"] = data
    return actor.client.post("/api/dm/views/", json=body)


def view_count(db) -> int:
    return db.scalar(select(func.count(View.id)))


def test_create_renders_filters_selected_items_and_ordering_inside_data(actor, db):
    project_id = make_project(actor)
    response = create_view(actor, project_id, {**TAB_DATA, "selectedItems": {"all": False, "included": [1]},
                                               "filters": FILTERS, "ordering": ["-tasks:id"]})
    assert response.status_code == 201, response.text
    body = assert_matches_spec(response, "POST", "/api/dm/views/")
    assert body == {
        "id": body["id"],
        "data": {**TAB_DATA, "selectedItems": {"all": False, "included": [1]}, "filters": FILTERS, "ordering": ["-tasks:id"]},
        "order": 0,
        "user": actor.user_id,
        "project": project_id,
    }
    assert list(body["data"]) == [*TAB_DATA, "selectedItems", "filters", "ordering"], "Label Studio's key order"
    stored = db.get(View, body["id"])
    assert stored.filters == FILTERS and stored.ordering == ["-tasks:id"] and "filters" not in stored.data


def test_create_without_data_and_label_studio_order_rules(actor):
    project_id = make_project(actor)
    plain = create_view(actor, project_id).json()
    assert plain["data"] == {} and plain["order"] == 0
    assert create_view(actor, project_id, {}, order=7).json()["order"] == 7
    # A view created with a filter group goes after the existing ones (order = their number).
    filtered = create_view(actor, project_id, {"filters": {"conjunction": "or"}}, order=7).json()
    assert filtered["order"] == 2 and filtered["data"] == {"filters": {"conjunction": "or", "items": []}}
    # Filters without a conjunction are dropped, an empty ordering is not stored.
    dropped = create_view(actor, project_id, {"filters": {"items": []}, "ordering": []}).json()
    assert dropped["data"] == {}
    # Top-level selected_items and filter_group are accepted too.
    top = create_view(actor, project_id, None, selected_items={"all": True, "excluded": []},
                      filter_group={"conjunction": "and", "filters": [{"column": "filter:tasks:id", "operator": "equal", "type": "Number", "value": 3}]}).json()
    assert top["data"] == {
        "filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": 3}]},
        "selectedItems": {"all": True, "excluded": []},
    }


def test_list_get_and_project_filter(actor, stranger):
    first = make_project(actor, "one")
    second = make_project(actor, "two")
    a = create_view(actor, first, {"title": "a"}, order=2).json()
    b = create_view(actor, first, {"title": "b"}, order=1).json()
    c = create_view(actor, second, {"title": "c"}).json()
    create_view(stranger, make_project(stranger), {"title": "theirs"})

    response = actor.client.get("/api/dm/views/", params={"project": first})
    assert [v["id"] for v in assert_matches_spec(response, "GET", "/api/dm/views/")] == [b["id"], a["id"]]
    everything = actor.client.get("/api/dm/views/").json()
    assert [v["id"] for v in everything] == [c["id"], b["id"], a["id"]], "by order then id, only the caller's organization"

    response = actor.client.get(f"/api/dm/views/{a['id']}/")
    assert assert_matches_spec(response, "GET", "/api/dm/views/{id}/") == a

    for bad in ("abc", "999999"):
        response = actor.client.get("/api/dm/views/", params={"project": bad})
        assert response.status_code == 400
        assert response.json()["validation_errors"] == {"project": ["Select a valid choice. That choice is not one of the available choices."]}


def test_patch_and_put_follow_label_studio_update(actor):
    project_id = make_project(actor)
    view = create_view(actor, project_id, {**TAB_DATA, "filters": FILTERS, "ordering": ["-tasks:id"]}).json()
    url = f"/api/dm/views/{view['id']}/"

    # Data is replaced; filters and ordering stay when not given.
    response = actor.client.patch(url, json={"data": {"title": "renamed"}})
    body = assert_matches_spec(response, "PATCH", "/api/dm/views/{id}/")
    assert body["data"] == {"title": "renamed", "filters": FILTERS, "ordering": ["-tasks:id"]}

    # New filters and ordering replace the old; order and project are not changed by an update.
    other_project = make_project(actor, "other")
    new_filters = {"conjunction": "or", "items": [{"filter": "filter:tasks:id", "operator": "equal", "type": "Number", "value": 5}]}
    response = actor.client.patch(url, json={"data": {"title": "r2", "filters": new_filters, "ordering": ["tasks:total_annotations"]},
                                             "order": 9, "project": other_project})
    body = response.json()
    assert body["data"] == {"title": "r2", "filters": new_filters, "ordering": ["tasks:total_annotations"]}
    assert (body["order"], body["project"]) == (0, project_id)

    # PUT needs the project; an empty ordering keeps the old one (as in Label Studio).
    assert actor.client.put(url, json={"data": {"title": "put"}}).json()["validation_errors"] == {"project": ["This field is required."]}
    response = actor.client.put(url, json={"project": project_id, "data": {"title": "put", "filters": {"conjunction": "and", "items": []}, "ordering": []}})
    assert response.status_code == 200
    assert response.json()["data"] == {"title": "put", "filters": {"conjunction": "and", "items": []}, "ordering": ["tasks:total_annotations"]}

    # A PATCH without data changes nothing (Label Studio fails with a 500 there).
    assert actor.client.patch(url, json={"order": 3}).json() == response.json()


def test_delete_and_reset(actor, stranger, db):
    project_id = make_project(actor)
    other_project = make_project(actor, "kept")
    first = create_view(actor, project_id).json()
    create_view(actor, project_id)
    kept = create_view(actor, other_project).json()

    assert actor.client.delete(f"/api/dm/views/{first['id']}/").status_code == 204
    assert actor.client.get(f"/api/dm/views/{first['id']}/").status_code == 404
    assert actor.client.delete(f"/api/dm/views/{first['id']}/").status_code == 404

    # The project comes from the body, else from the query string.
    assert stranger.client.delete("/api/dm/views/reset/", params={"project": project_id}).status_code == 400
    assert view_count(db) == 2
    assert actor.client.delete("/api/dm/views/reset/", params={"project": project_id}).status_code == 204
    assert [v["id"] for v in actor.client.get("/api/dm/views/").json()] == [kept["id"]]
    assert actor.client.request("DELETE", "/api/dm/views/reset/", json={"project": other_project}).status_code == 204
    assert view_count(db) == 0

    errors = {
        "": {"project": ["This field may not be null."]},
        "abc": {"project": ["Incorrect type. Expected pk value, received str."]},
        "99999": {"project": ['Invalid pk "99999" - object does not exist.']},
    }
    for raw, expected in errors.items():
        response = actor.client.delete("/api/dm/views/reset/" + (f"?project={raw}" if raw else ""))
        assert response.status_code == 400 and response.json()["validation_errors"] == expected


def test_order_endpoint(actor, stranger):
    project_id = make_project(actor)
    ids = [create_view(actor, project_id).json()["id"] for _ in range(3)]
    unlisted = create_view(actor, project_id, {}, order=5).json()["id"]

    response = actor.client.post("/api/dm/views/order/", json={"project": project_id, "ids": [ids[2], ids[0], 999999, ids[1]]})
    assert response.status_code == 200 and response.content == b""
    listed = actor.client.get("/api/dm/views/", params={"project": project_id}).json()
    assert [(v["id"], v["order"]) for v in listed] == [(ids[2], 0), (ids[0], 1), (ids[1], 3), (unlisted, 5)]

    # Another organization's project does not exist for the caller; nothing moves.
    response = stranger.client.post("/api/dm/views/order/", json={"project": project_id, "ids": [ids[1]]})
    assert response.status_code == 404
    assert stranger.client.get(f"/api/dm/views/{ids[1]}/").status_code == 404

    bad = {
        "missing ids": ({"project": project_id}, {"ids": ["This field is required."]}),
        "not ints": ({"project": project_id, "ids": ["a", 1]}, {"ids": {"0": ["A valid integer is required."]}}),
        "not a list": ({"ids": "x"}, {"project": ["This field is required."], "ids": ['Expected a list of items but got type "str".']}),
    }
    for name, (payload, expected) in bad.items():
        response = actor.client.post("/api/dm/views/order/", json=payload)
        assert response.status_code == 400, name
        assert response.json()["validation_errors"] == expected, name
    assert [v["order"] for v in actor.client.get("/api/dm/views/", params={"project": project_id}).json()] == [0, 1, 3, 5]


def test_filters_are_validated_and_nothing_is_written(actor, db):
    project_id = make_project(actor)
    view = create_view(actor, project_id, {"filters": FILTERS}).json()
    before = view_count(db)

    def item(**changes):
        return {"filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": 1, **changes}]}}

    label_studio_errors = {
        "no prefix": (item(filter="tasks:id"), {"filter_group": {"filters": [{"column": ['Filter "tasks:id" should start with "filter:tasks:"']}]}}),
        "lookup + blank operator": (
            item(filter="filter:tasks:annotations__result", operator=""),
            {"filter_group": {"filters": [{
                "column": ['"__" is not generally allowed in filters. Consider asking your administrator to add "annotations__result" '
                           "to DATA_MANAGER_FILTER_ALLOWLIST, but note that some filter expressions may pose a security risk"],
                "operator": ["This field may not be blank."],
            }]}},
        ),
    }
    for name, (data, expected) in label_studio_errors.items():
        response = create_view(actor, project_id, data)
        assert response.status_code == 400, name
        assert response.json()["validation_errors"] == expected, name

    engine_refused = {
        "unknown column": item(filter="filter:tasks:no_such_column"),
        "unknown operator": item(operator="is_kind_of"),
        "unknown conjunction": {"filters": {"conjunction": "xor", "items": []}},
        "unknown ordering column": {"ordering": ["tasks:no_such_column"]},
        "ordering not a list": {"ordering": "tasks:id"},
        "bad child filter": {"filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": 1,
             "child_filter": {"filter": "filter:tasks:nope", "operator": "equal", "type": "Number", "value": 1}}]}},
    }
    for name, data in engine_refused.items():
        response = create_view(actor, project_id, data)
        assert response.status_code == 400, (name, response.text)
        assert response.json()["detail"] == "Validation error"
        response = actor.client.patch(f"/api/dm/views/{view['id']}/", json={"data": data})
        assert response.status_code == 400, (name, response.text)

    other_bad = {
        "data not an object": {"project": project_id, "data": [1]},
        "data null": {"project": project_id, "data": None},
        "no project": {"data": {}},
        "order not a number": {"project": project_id, "order": "x"},
        "project of nobody": {"project": 999999},
        "project not a pk": {"project": "abc"},
    }
    for name, payload in other_bad.items():
        response = actor.client.post("/api/dm/views/", json=payload)
        assert response.status_code == 400, (name, response.text)
    assert view_count(db) == before
    assert actor.client.get(f"/api/dm/views/{view['id']}/").json()["data"] == {"filters": FILTERS}


def test_views_are_invisible_to_other_organizations(actor, stranger, db):
    project_id = make_project(actor)
    view = create_view(actor, project_id, {"title": "mine"}).json()
    url = f"/api/dm/views/{view['id']}/"
    assert stranger.client.get(url).status_code == 404
    assert stranger.client.patch(url, json={"data": {"title": "hijacked"}}).status_code == 404
    assert stranger.client.put(url, json={"project": project_id, "data": {}}).status_code == 404
    assert stranger.client.delete(url).status_code == 404
    assert stranger.client.get("/api/dm/views/").json() == []
    response = create_view(stranger, project_id, {"title": "in your project"})
    assert response.status_code == 400
    assert response.json()["validation_errors"] == {"project": [f'Invalid pk "{project_id}" - object does not exist.']}
    assert view_count(db) == 1
    assert actor.client.get(url).json()["data"] == {"title": "mine"}
    for path in ("/api/dm/views/abc/", "/api/dm/views/0/", "/api/dm/views/99999999999/"):
        assert actor.client.get(path).status_code == 404


def test_anonymous_is_refused(client):
    assert client.get("/api/dm/views/").status_code == 401
    assert client.post("/api/dm/views/", json={"project": 1}).status_code == 401


def test_label_studio_sdk_manages_views(live_server, actor):
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=live_server, api_key=actor.token, timeout=30)
    project = ls.projects.create(title="SDK views", label_config=CONFIG)
    view = ls.views.create(project=project.id, data={"title": "SDK tab", "filters": FILTERS, "ordering": ["-tasks:id"]})
    assert (view.project, view.user) == (project.id, actor.user_id)
    assert view.data["filters"] == FILTERS and view.data["ordering"] == ["-tasks:id"] and view.data["title"] == "SDK tab"
    second = ls.views.create(project=project.id, data={"title": "second"})
    assert [v.id for v in ls.views.list(project=project.id)] == [view.id, second.id]

    updated = ls.views.update(id=str(view.id), data={"title": "renamed", "filters": {"conjunction": "or", "items": []}})
    assert updated.data == {"title": "renamed", "filters": {"conjunction": "or", "items": []}, "ordering": ["-tasks:id"]}
    assert ls.views.get(id=str(view.id)).data["title"] == "renamed"

    ls.views.update_order(project=project.id, ids=[second.id, view.id])
    assert [v.id for v in ls.views.list(project=project.id)] == [second.id, view.id]
    ls.views.delete(id=str(second.id))
    assert [v.id for v in ls.views.list(project=project.id)] == [view.id]
    ls.views.delete_all(project=project.id)
    assert ls.views.list(project=project.id) == []


def test_views_go_with_their_project(actor, db):
    project_id = make_project(actor)
    create_view(actor, project_id, {"title": "tab"})
    assert actor.client.delete(f"/api/projects/{project_id}/").status_code == 204
    assert view_count(db) == 0
