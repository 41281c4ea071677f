"""GraphQL Data Manager: typed filters and ordering give the same tasks in the same order as REST
GET /api/tasks/?query= (one engine, two wire formats), views (tabs) CRUD, actions, tenant isolation
and a constant statement count for filtered pages."""
from __future__ import annotations

import json

import pytest

from tests.test_graphql import LABEL_CONFIG, global_id, post, run

CHOICE_RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]

TASK_IDS = "edges { cursor node { pk } } pageInfo { hasNextPage endCursor } totalCount"
FILTERED_TASKS = f"""query($project: ID!, $filter: TaskFilterInput, $orderBy: [TaskOrderInput!], $first: Int, $after: String) {{
    tasks(projectId: $project, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {{ {TASK_IDS} }} }}"""


def make_project(actor, tasks: list[dict]) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Data Manager", "label_config": LABEL_CONFIG})
    assert response.status_code == 201, response.text
    project_id = response.json()["id"]
    if tasks:
        response = actor.client.post(f"/api/projects/{project_id}/import", json=tasks)
        assert response.status_code == 201, response.text
    return project_id


def sample_tasks(count: int = 12) -> list[dict]:
    tasks = []
    for n in range(count):
        task = {"data": {"text": ("cat " if n % 3 == 0 else "dog ") + str(n), "score": (n * 7) % 5, "lang": "en" if n % 2 else "de"}}
        if n % 4 == 0:
            task["annotations"] = [{"result": CHOICE_RESULT}]
        tasks.append(task)
    return tasks


def rest_ids(actor, project_id: int, filters: dict | None, ordering: list[str]) -> list[int]:
    query = json.dumps({"filters": filters, "ordering": ordering})
    response = actor.client.get("/api/tasks/", params={"project": project_id, "query": query, "page_size": 1000})
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["tasks"]]


def graphql_ids(actor, project_id: int, filter: dict | None, order_by: list[dict] | None, page_size: int = 4) -> list[int]:
    """Every page, following the cursors."""
    ids, after = [], None
    while True:
        page = run(actor.client, FILTERED_TASKS, project=global_id("Project", project_id), filter=filter, orderBy=order_by,
                   first=page_size, after=after)["tasks"]
        ids += [edge["node"]["pk"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(ids)
            return ids
        after = page["pageInfo"]["endCursor"]


def item(filter: str, operator: str, type_: str, value) -> dict:
    return {"filter": f"filter:tasks:{filter}", "operator": operator, "type": type_, "value": value}


# (REST filters, REST ordering, GraphQL filter, GraphQL orderBy)
PARITY_CASES = [
    (
        {"conjunction": "and", "items": [item("data.score", "greater", "Number", 1)]},
        ["-tasks:data.score"],
        {"items": [{"dataField": "score", "operator": "GREATER", "value": {"number": 1}}]},
        [{"dataField": "score", "direction": "DESC"}],
    ),
    (
        {"conjunction": "or", "items": [item("total_annotations", "greater", "Number", 0), item("data.text", "contains", "String", "cat")]},
        ["-tasks:total_annotations"],
        {"conjunction": "OR", "items": [
            {"column": "TOTAL_ANNOTATIONS", "operator": "GREATER", "value": {"number": 0}},
            {"dataField": "text", "operator": "CONTAINS", "value": {"string": "cat"}},
        ]},
        [{"column": "TOTAL_ANNOTATIONS", "direction": "DESC"}],
    ),
    (
        {"conjunction": "and", "items": [item("id", "in", "Number", {"min": 0, "max": 10**9}), item("data.lang", "equal", "String", "en")]},
        ["tasks:completed_at"],
        {"items": [
            {"column": "ID", "operator": "IN", "value": {"range": {"min": 0, "max": 10**9}}},
            {"dataField": "lang", "operator": "EQUAL", "value": {"string": "en"}},
        ]},
        [{"column": "COMPLETED_AT"}],
    ),
    (
        {"conjunction": "and", "items": [item("created_at", "greater", "Datetime", "2000-01-01T00:00:00.000000Z"),
                                          item("annotations_results", "empty", "String", True)]},
        ["-tasks:id"],
        {"items": [
            {"column": "CREATED_AT", "operator": "GREATER", "value": {"datetime": "2000-01-01T00:00:00+00:00"}},
            {"column": "ANNOTATIONS_RESULTS", "operator": "EMPTY", "type": "STRING", "value": {"boolean": True}},
        ]},
        [{"column": "ID", "direction": "DESC"}],
    ),
    (None, ["tasks:data.text"], None, [{"dataField": "text"}]),
]


@pytest.mark.parametrize("rest_filters,rest_ordering,filter,order_by", PARITY_CASES)
def test_same_filter_gives_the_same_tasks_in_the_same_order_through_rest_and_graphql(actor, rest_filters, rest_ordering, filter, order_by):
    project_id = make_project(actor, sample_tasks())
    expected = rest_ids(actor, project_id, rest_filters, rest_ordering)
    assert 0 < len(expected) < 12 or rest_filters is None
    assert graphql_ids(actor, project_id, filter, order_by) == expected
    # The same through project.tasks.
    query = """query($id: ID!, $filter: TaskFilterInput, $orderBy: [TaskOrderInput!]) { project(id: $id) {
        tasks(filter: $filter, orderBy: $orderBy, first: 100) { edges { node { pk } } } } }"""
    data = run(actor.client, query, id=global_id("Project", project_id), filter=filter, orderBy=order_by)
    assert [edge["node"]["pk"] for edge in data["project"]["tasks"]["edges"]] == expected


def test_bad_filters_are_client_errors_and_foreign_projects_are_null(actor, stranger):
    project_id = make_project(actor, sample_tasks(2))
    project = global_id("Project", project_id)
    both = {"items": [{"column": "ID", "dataField": "x", "operator": "EQUAL", "value": {"number": 1}}]}
    body = post(actor.client, FILTERED_TASKS, project=project, filter=both).json()
    assert "exactly one of column and dataField" in body["errors"][0]["message"]
    wrong_operator = {"items": [{"column": "GROUND_TRUTH", "operator": "GREATER", "value": {"boolean": True}}]}
    body = post(actor.client, FILTERED_TASKS, project=project, filter=wrong_operator).json()
    assert "does not apply" in body["errors"][0]["message"]
    two_values = {"items": [{"column": "ID", "operator": "EQUAL", "value": {"number": 1, "string": "1"}}]}
    assert post(actor.client, FILTERED_TASKS, project=project, filter=two_values).json()["errors"]
    body = post(actor.client, FILTERED_TASKS, project=project, filter=None, after="bm90LWEtY3Vyc29y").json()
    assert "Invalid cursor" in body["errors"][0]["message"]
    assert run(stranger.client, FILTERED_TASKS, project=project, filter=None)["tasks"] is None


@pytest.mark.parametrize("task_count", [5, 40])
def test_filtered_task_page_costs_a_constant_number_of_statements(actor, statement_counter, task_count):
    project_id = make_project(actor, [{"data": {"text": f"t{n}", "score": n}} for n in range(task_count)])
    query = """query($project: ID!, $filter: TaskFilterInput, $orderBy: [TaskOrderInput!]) {
        tasks(projectId: $project, filter: $filter, orderBy: $orderBy, first: 100) { totalCount edges { node {
            pk annotations { id } predictions { id } } } } }"""
    filter = {"items": [{"dataField": "score", "operator": "GREATER_OR_EQUAL", "value": {"number": 2}}]}
    with statement_counter() as statements:
        data = run(actor.client, query, project=global_id("Project", project_id), filter=filter, orderBy=[{"dataField": "score", "direction": "DESC"}])
    assert data["tasks"]["totalCount"] == task_count - 2
    # Authentication (1), project (1), totals (1), page (1), annotations (1), predictions (1).
    assert statements() == 6


VIEW_FIELDS = "id pk title order filters ordering hiddenColumns data project { pk }"


def test_views_create_list_update_delete(actor, stranger):
    project_id = make_project(actor, sample_tasks())
    project = global_id("Project", project_id)
    create = f"""mutation($project: ID!, $input: ViewInput!) {{ createView(projectId: $project, input: $input) {{
        __typename ... on ViewPayload {{ view {{ {VIEW_FIELDS} }} }} ... on ValidationError {{ field messages }} }} }}"""
    input = {
        "title": "Cats",
        "filter": {"items": [{"dataField": "text", "operator": "CONTAINS", "value": {"string": "cat"}}]},
        "orderBy": [{"column": "ID", "direction": "DESC"}],
        "hiddenColumns": {"explore": ["tasks:inner_id"], "labeling": []},
    }
    created = run(actor.client, create, project=project, input=input)["createView"]
    assert created["__typename"] == "ViewPayload", created
    view = created["view"]
    assert view["title"] == "Cats" and view["project"] == {"pk": project_id}
    assert view["filters"] == {"conjunction": "and", "items": [item("data.text", "contains", "String", "cat")]}
    assert view["ordering"] == ["-tasks:id"]
    assert view["hiddenColumns"] == {"explore": ["tasks:inner_id"], "labeling": []}

    # REST sees the same tab, and lists the same tasks through it.
    rest_view = actor.client.get(f"/api/dm/views/{view['pk']}/").json()
    assert rest_view["data"]["filters"] == view["filters"] and rest_view["data"]["title"] == "Cats"
    rest_tasks = [t["id"] for t in actor.client.get("/api/tasks/", params={"view": view["pk"]}).json()["tasks"]]
    listed = run(actor.client, f"""query($id: ID!, $view: ID!) {{ project(id: $id) {{ views {{ pk title }} }}
        view(id: $view) {{ tasks(first: 100) {{ edges {{ node {{ pk }} }} }} }}
        byView: tasks(viewId: $view, first: 100) {{ edges {{ node {{ pk }} }} }} }}""", id=project, view=view["id"])
    assert listed["project"]["views"] == [{"pk": view["pk"], "title": "Cats"}]
    assert [e["node"]["pk"] for e in listed["view"]["tasks"]["edges"]] == rest_tasks == sorted(rest_tasks, reverse=True)
    assert [e["node"]["pk"] for e in listed["byView"]["edges"]] == rest_tasks

    # A partial update keeps what it does not name.
    update = f"""mutation($id: ID!, $input: ViewInput!) {{ updateView(id: $id, input: $input) {{
        __typename ... on ViewPayload {{ view {{ {VIEW_FIELDS} }} }} ... on NotFoundError {{ message }} }} }}"""
    updated = run(actor.client, update, id=view["id"], input={"title": "Felines"})["updateView"]["view"]
    assert updated["title"] == "Felines"
    assert updated["filters"] == view["filters"] and updated["hiddenColumns"] == view["hiddenColumns"]
    assert updated["ordering"] == ["-tasks:id"]

    # Bad filters are typed errors; nothing changes.
    bad = {"filter": {"items": [{"column": "GROUND_TRUTH", "operator": "REGEX", "value": {"string": "x"}}]}}
    result = run(actor.client, update, id=view["id"], input=bad)["updateView"]
    assert result["__typename"] == "ValidationError"

    # Another organization sees nothing and changes nothing.
    assert run(stranger.client, "query($id: ID!) { view(id: $id) { pk } node(id: $id) { id } }", id=view["id"]) == {"view": None, "node": None}
    assert run(stranger.client, update, id=view["id"], input={"title": "Mine"})["updateView"]["__typename"] == "NotFoundError"
    assert run(stranger.client, create, project=project, input={"title": "Mine"})["createView"]["__typename"] == "ValidationError"

    delete = "mutation($id: ID!) { deleteView(id: $id) { __typename ... on DeletePayload { deletedId } } }"
    assert run(stranger.client, delete, id=view["id"])["deleteView"]["__typename"] == "NotFoundError"
    assert run(actor.client, delete, id=view["id"])["deleteView"] == {"__typename": "DeletePayload", "deletedId": view["id"]}
    assert actor.client.get(f"/api/dm/views/{view['pk']}/").status_code == 404


RUN_ACTION = """mutation($project: ID!, $action: String!, $selection: SelectionInput, $filter: TaskFilterInput) {
    runDmAction(projectId: $project, actionId: $action, selection: $selection, filter: $filter) {
        __typename ... on RunDmActionPayload { processedItems response job { id } }
        ... on ValidationError { field messages } ... on NotFoundError { message } } }"""


def test_actions_list_and_run_over_a_selection_and_a_filter(actor, stranger):
    project_id = make_project(actor, sample_tasks())
    project = global_id("Project", project_id)
    listed = run(actor.client, "query($p: ID!) { dmActions(projectId: $p) { id title order } }", p=project)["dmActions"]
    assert [a["id"] for a in listed] == [a["id"] for a in actor.client.get("/api/dm/actions/", params={"project": project_id}).json()]
    assert "delete_tasks" in [a["id"] for a in listed]

    all_ids = rest_ids(actor, project_id, None, [])
    chosen = [global_id("Task", pk) for pk in all_ids[:2]]
    result = run(actor.client, RUN_ACTION, project=project, action="delete_tasks", selection={"all": False, "included": chosen})["runDmAction"]
    assert result["__typename"] == "RunDmActionPayload" and result["processedItems"] == 2 and result["job"] is None
    assert rest_ids(actor, project_id, None, []) == all_ids[2:]

    # A filter chooses as REST does: the tasks with annotations lose them.
    annotated = {"items": [{"column": "TOTAL_ANNOTATIONS", "operator": "GREATER", "value": {"number": 0}}]}
    before = graphql_ids(actor, project_id, annotated, None)
    assert before
    result = run(actor.client, RUN_ACTION, project=project, action="delete_tasks_annotations", filter=annotated)["runDmAction"]
    assert result["processedItems"] == len(before)
    assert graphql_ids(actor, project_id, annotated, None) == []

    unknown = run(actor.client, RUN_ACTION, project=project, action="no_such_action")["runDmAction"]
    assert unknown["__typename"] == "ValidationError" and unknown["field"] == "actionId"
    bad_selection = run(actor.client, RUN_ACTION, project=project, action="delete_tasks", selection={"all": False, "included": [project]})
    assert bad_selection["runDmAction"]["__typename"] == "ValidationError"
    assert rest_ids(actor, project_id, None, []) == all_ids[2:]

    assert run(stranger.client, RUN_ACTION, project=project, action="delete_tasks")["runDmAction"]["__typename"] == "NotFoundError"
    assert run(stranger.client, "query($p: ID!) { dmActions(projectId: $p) { id } }", p=project)["dmActions"] is None
    assert rest_ids(actor, project_id, None, []) == all_ids[2:]
