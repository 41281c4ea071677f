"""GraphQL API end to end: queries, mutations over the core use cases, typed errors, tenant
isolation, limits and GraphiQL."""
from __future__ import annotations

import base64
from datetime import timedelta

from core.auth import jwt_tokens
from core.projects.models import Project
from core.tasks.models import Task

LABEL_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>"""
CHOICE_RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]

PROJECT_FIELDS = "id pk title description labelConfig taskNumber totalAnnotationsNumber totalPredictionsNumber createdBy { email }"


def post(client, query: str, **variables):
    return client.post("/graphql", json={"query": query, "variables": variables})


def run(client, query: str, **variables) -> dict:
    """The response's data; fails on any GraphQL error."""
    response = post(client, query, **variables)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def create_project(actor, **fields) -> dict:
    data = run(
        actor.client,
        f"mutation($input: ProjectInput!) {{ createProject(input: $input) {{ __typename ... on ProjectPayload {{ project {{ {PROJECT_FIELDS} }} }} }} }}",
        input={"title": "Reviews", "labelConfig": LABEL_CONFIG, **fields},
    )
    assert data["createProject"]["__typename"] == "ProjectPayload", data
    return data["createProject"]["project"]


def create_task(actor, project_id: str, text: str = "great") -> dict:
    data = run(
        actor.client,
        """mutation($project: ID!, $input: TaskInput!) { createTask(projectId: $project, input: $input) {
            __typename ... on TaskPayload { task { id pk data } } ... on ValidationError { field messages } } }""",
        project=project_id,
        input={"data": {"text": text}},
    )
    assert data["createTask"]["__typename"] == "TaskPayload", data
    return data["createTask"]["task"]


def create_annotation(actor, task_id: str) -> dict:
    data = run(
        actor.client,
        """mutation($task: ID!, $input: AnnotationInput!) { createAnnotation(taskId: $task, input: $input) {
            __typename ... on AnnotationPayload { annotation { id pk result completedBy { email } } } } }""",
        task=task_id,
        input={"result": CHOICE_RESULT},
    )
    assert data["createAnnotation"]["__typename"] == "AnnotationPayload", data
    return data["createAnnotation"]["annotation"]


# Access


def test_unauthenticated_request_gets_an_error_and_no_data(client):
    response = post(client, "{ me { email } }")
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_bad_token_is_refused(client):
    response = client.post("/graphql", json={"query": "{ me { email } }"}, headers={"Authorization": "Token nope"})
    assert response.status_code == 401 and response.json()["data"] is None


def test_bearer_access_token_authenticates(client, actor, settings):
    token, _, _ = jwt_tokens.encode(settings.secret_key, user_id=actor.user_id, token_type="access", ttl=timedelta(minutes=5))
    response = client.post("/graphql", json={"query": "{ me { email } }"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["data"]["me"]["email"] == actor.email


def test_graphiql_is_served_to_browsers(client):
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_queries_over_get_are_accepted(actor):
    response = actor.client.get("/graphql", params={"query": "{ me { email } }"})
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == actor.email


# Queries


def test_me_organization_and_users(actor, make_actor):
    colleague = make_actor("colleague@example.com", same_org_as=actor)
    data = run(actor.client, "{ me { pk email } organization { pk title } users(first: 10) { totalCount edges { node { email } } } }")
    assert data["me"] == {"pk": actor.user_id, "email": actor.email}
    assert data["organization"]["pk"] == actor.organization_id
    assert data["users"]["totalCount"] == 2
    assert [edge["node"]["email"] for edge in data["users"]["edges"]] == [actor.email, colleague.email]


def test_projects_connection_pages_with_cursors(actor):
    ids = [create_project(actor, title=f"Project {n}")["id"] for n in range(5)]
    query = "query($after: String) { projects(first: 2, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
    seen, after = [], None
    while True:
        page = run(actor.client, query, after=after)["projects"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids


def test_project_tasks_connection_and_counters(actor):
    project = create_project(actor)
    tasks = [create_task(actor, project["id"], text=f"text {n}") for n in range(3)]
    annotation = create_annotation(actor, tasks[0]["id"])
    query = """query($id: ID!, $after: String) { project(id: $id) { taskNumber totalAnnotationsNumber finishedTaskNumber
        tasks(first: 2, after: $after) { totalCount edges { node { id data isLabeled totalAnnotations
            annotations { id completedBy { email } } predictions { id } project { id } } }
            pageInfo { hasNextPage endCursor } } } }"""
    first_page = run(actor.client, query, id=project["id"])["project"]
    assert (first_page["taskNumber"], first_page["totalAnnotationsNumber"], first_page["finishedTaskNumber"]) == (3, 1, 1)
    connection = first_page["tasks"]
    assert connection["totalCount"] == 3 and connection["pageInfo"]["hasNextPage"] is True
    first_task = connection["edges"][0]["node"]
    assert first_task["data"] == {"text": "text 0"} and first_task["isLabeled"] is True and first_task["totalAnnotations"] == 1
    assert first_task["annotations"] == [{"id": annotation["id"], "completedBy": {"email": actor.email}}]
    assert first_task["project"]["id"] == project["id"]
    second_page = run(actor.client, query, id=project["id"], after=connection["pageInfo"]["endCursor"])["project"]["tasks"]
    assert [edge["node"]["id"] for edge in second_page["edges"]] == [tasks[2]["id"]]
    assert second_page["pageInfo"]["hasNextPage"] is False


def test_node_fetches_every_type_by_global_id(actor):
    project = create_project(actor)
    task = create_task(actor, project["id"])
    annotation = create_annotation(actor, task["id"])
    for object_id, type_name in [
        (project["id"], "Project"),
        (task["id"], "Task"),
        (annotation["id"], "Annotation"),
        (global_id("User", actor.user_id), "User"),
        (global_id("Organization", actor.organization_id), "Organization"),
    ]:
        node = run(actor.client, "query($id: ID!) { node(id: $id) { __typename id } }", id=object_id)["node"]
        assert node == {"__typename": type_name, "id": object_id}
    for unknown in ["not base64!", global_id("Project", 999999), global_id("Spaceship", 1)]:
        assert run(actor.client, "query($id: ID!) { node(id: $id) { id } }", id=unknown)["node"] is None


# Mutations


def test_project_update_and_delete(actor, db):
    project = create_project(actor)
    data = run(
        actor.client,
        """mutation($id: ID!, $input: ProjectInput!) { updateProject(id: $id, input: $input) {
            __typename ... on ProjectPayload { project { title description maximumAnnotations } } } }""",
        id=project["id"],
        input={"description": "Sentiment of reviews", "maximumAnnotations": 2},
    )
    assert data["updateProject"]["project"] == {"title": "Reviews", "description": "Sentiment of reviews", "maximumAnnotations": 2}
    data = run(actor.client, "mutation($id: ID!) { deleteProject(id: $id) { __typename ... on DeletePayload { deletedId } } }", id=project["id"])
    assert data["deleteProject"] == {"__typename": "DeletePayload", "deletedId": project["id"]}
    assert db.get(Project, project["pk"]) is None
    assert run(actor.client, "query($id: ID!) { project(id: $id) { id } }", id=project["id"])["project"] is None


def test_bad_label_config_is_a_validation_error_and_writes_nothing(actor, db):
    data = run(
        actor.client,
        """mutation($input: ProjectInput!) { createProject(input: $input) { __typename
            ... on ValidationError { field messages errors { field messages } } } }""",
        input={"title": "Broken", "labelConfig": "<View><Choices name='c' toName='missing'/></View>"},
    )
    error = data["createProject"]
    assert error["__typename"] == "ValidationError"
    assert error["field"] == "labelConfig" and error["messages"]
    assert {item["field"] for item in error["errors"]} == {"labelConfig"}
    assert db.query(Project).count() == 0


def test_validation_errors_name_every_bad_field(actor):
    data = run(
        actor.client,
        "mutation($input: ProjectInput!) { createProject(input: $input) { ... on ValidationError { errors { field } } } }",
        input={"title": "x" * 60, "color": "red"},
    )
    assert {item["field"] for item in data["createProject"]["errors"]} == {"title", "color"}


def test_task_annotation_and_prediction_mutations(actor, db):
    project = create_project(actor)
    task = create_task(actor, project["id"])
    data = run(
        actor.client,
        """mutation($id: ID!, $input: TaskInput!) { updateTask(id: $id, input: $input) {
            ... on TaskPayload { task { data meta } } } }""",
        id=task["id"],
        input={"data": {"text": "changed"}, "meta": {"source": "graphql"}},
    )
    assert data["updateTask"]["task"] == {"data": {"text": "changed"}, "meta": {"source": "graphql"}}

    annotation = create_annotation(actor, task["id"])
    assert annotation["completedBy"] == {"email": actor.email} and annotation["result"] == CHOICE_RESULT
    data = run(
        actor.client,
        """mutation($id: ID!, $input: AnnotationInput!) { updateAnnotation(id: $id, input: $input) {
            ... on AnnotationPayload { annotation { groundTruth leadTime } } } }""",
        id=annotation["id"],
        input={"groundTruth": True, "leadTime": 4.5},
    )
    assert data["updateAnnotation"]["annotation"] == {"groundTruth": True, "leadTime": 4.5}

    data = run(
        actor.client,
        """mutation($task: ID!, $input: PredictionInput!) { createPrediction(taskId: $task, input: $input) {
            __typename ... on PredictionPayload { prediction { id result score modelVersion task { id } } } } }""",
        task=task["id"],
        input={"result": CHOICE_RESULT, "score": 0.9, "modelVersion": "v1"},
    )
    prediction = data["createPrediction"]["prediction"]
    assert (prediction["score"], prediction["modelVersion"], prediction["task"]["id"]) == (0.9, "v1", task["id"])
    data = run(
        actor.client,
        """mutation($id: ID!, $input: PredictionInput!) { updatePrediction(id: $id, input: $input) {
            ... on PredictionPayload { prediction { score } } } }""",
        id=prediction["id"],
        input={"score": 0.5},
    )
    assert data["updatePrediction"]["prediction"] == {"score": 0.5}

    counters = run(actor.client, "query($id: ID!) { task(id: $id) { totalAnnotations totalPredictions isLabeled } }", id=task["id"])
    assert counters["task"] == {"totalAnnotations": 1, "totalPredictions": 1, "isLabeled": True}

    for mutation, object_id in [("deletePrediction", prediction["id"]), ("deleteAnnotation", annotation["id"]), ("deleteTask", task["id"])]:
        data = run(actor.client, f"mutation($id: ID!) {{ {mutation}(id: $id) {{ __typename }} }}", id=object_id)
        assert data[mutation]["__typename"] == "DeletePayload"
    assert db.get(Task, task["pk"]) is None


def test_mutation_results_reflect_later_reads_in_the_same_request(actor):
    project = create_project(actor)
    data = run(
        actor.client,
        """mutation($project: ID!) {
            first: createTask(projectId: $project, input: {data: {text: "a"}}) { __typename }
            second: createTask(projectId: $project, input: {data: {text: "b"}}) { __typename }
            updateProject(id: $project, input: {title: "Renamed"}) { ... on ProjectPayload { project { title taskNumber } } }
        }""",
        project=project["id"],
    )
    assert data["updateProject"]["project"] == {"title": "Renamed", "taskNumber": 2}


def test_import_tasks(actor):
    project = create_project(actor)
    tasks = [
        {"data": {"text": "one"}, "annotations": [{"result": CHOICE_RESULT}]},
        {"data": {"text": "two"}, "predictions": [{"result": CHOICE_RESULT, "score": 0.3}]},
        {"text": "three"},
    ]
    data = run(
        actor.client,
        """mutation($project: ID!, $tasks: JSON!) { importTasks(projectId: $project, tasks: $tasks, options: {returnTaskIds: true}) {
            __typename ... on ImportTasksPayload { taskCount annotationCount predictionCount taskIds } } }""",
        project=project["id"],
        tasks=tasks,
    )
    result = data["importTasks"]
    assert (result["__typename"], result["taskCount"], result["annotationCount"], result["predictionCount"]) == ("ImportTasksPayload", 3, 1, 1)
    assert len(result["taskIds"]) == 3
    counters = run(actor.client, "query($id: ID!) { project(id: $id) { taskNumber totalAnnotationsNumber totalPredictionsNumber } }", id=project["id"])
    assert counters["project"] == {"taskNumber": 3, "totalAnnotationsNumber": 1, "totalPredictionsNumber": 1}


def test_import_of_bad_tasks_is_a_validation_error(actor):
    project = create_project(actor)
    data = run(
        actor.client,
        "mutation($project: ID!, $tasks: JSON!) { importTasks(projectId: $project, tasks: $tasks) { __typename ... on ValidationError { field } } }",
        project=project["id"],
        tasks=[{"data": {"wrong_key": "x"}}],
    )
    assert data["importTasks"]["__typename"] == "ValidationError"
    assert run(actor.client, "query($id: ID!) { project(id: $id) { taskNumber } }", id=project["id"])["project"]["taskNumber"] == 0


# Tenant isolation


def test_another_organizations_objects_are_invisible(actor, stranger):
    project = create_project(actor)
    task = create_task(actor, project["id"])
    annotation = create_annotation(actor, task["id"])
    for object_id in (project["id"], task["id"], annotation["id"], global_id("User", actor.user_id), global_id("Organization", actor.organization_id)):
        assert run(stranger.client, "query($id: ID!) { node(id: $id) { id } }", id=object_id)["node"] is None
    assert run(stranger.client, "query($id: ID!) { project(id: $id) { id } }", id=project["id"])["project"] is None
    assert run(stranger.client, "query($id: ID!) { task(id: $id) { id } }", id=task["id"])["task"] is None
    assert run(stranger.client, "{ projects { totalCount edges { node { id } } } }")["projects"] == {"totalCount": 0, "edges": []}
    assert [edge["node"]["email"] for edge in run(stranger.client, "{ users { edges { node { email } } } }")["users"]["edges"]] == [stranger.email]


def test_mutations_on_another_organizations_objects_are_not_found(actor, stranger, db):
    project = create_project(actor)
    task = create_task(actor, project["id"])
    annotation = create_annotation(actor, task["id"])
    attempts = {
        "updateProject": ("mutation($id: ID!) { updateProject(id: $id, input: {title: \"Mine\"}) { __typename } }", project["id"]),
        "deleteProject": ("mutation($id: ID!) { deleteProject(id: $id) { __typename } }", project["id"]),
        "createTask": ("mutation($id: ID!) { createTask(projectId: $id, input: {data: {text: \"x\"}}) { __typename } }", project["id"]),
        "importTasks": ("mutation($id: ID!) { importTasks(projectId: $id, tasks: [{text: \"x\"}]) { __typename } }", project["id"]),
        "updateTask": ("mutation($id: ID!) { updateTask(id: $id, input: {data: {text: \"x\"}}) { __typename } }", task["id"]),
        "deleteTask": ("mutation($id: ID!) { deleteTask(id: $id) { __typename } }", task["id"]),
        "createAnnotation": ("mutation($id: ID!) { createAnnotation(taskId: $id, input: {result: []}) { __typename } }", task["id"]),
        "updateAnnotation": ("mutation($id: ID!) { updateAnnotation(id: $id, input: {leadTime: 1}) { __typename } }", annotation["id"]),
        "deleteAnnotation": ("mutation($id: ID!) { deleteAnnotation(id: $id) { __typename } }", annotation["id"]),
    }
    for name, (mutation, object_id) in attempts.items():
        data = run(stranger.client, mutation, id=object_id)
        assert data[name]["__typename"] == "NotFoundError", name
    stored = db.get(Project, project["pk"])
    assert stored.title == "Reviews"
    assert db.query(Task).count() == 1


def test_global_id_of_the_wrong_type_is_not_found(actor):
    project = create_project(actor)
    data = run(actor.client, "mutation($id: ID!) { deleteTask(id: $id) { __typename ... on NotFoundError { message } } }", id=project["id"])
    assert data["deleteTask"]["__typename"] == "NotFoundError"


# Limits


def test_too_deep_query_is_refused(actor):
    nested = "annotations { task { project { tasks { edges { node { annotations { completedBy { email } } } } } } } }"
    query = "{ projects { edges { node { tasks { edges { node { %s } } } } } } }" % nested
    response = post(actor.client, query)
    body = response.json()
    assert body.get("data") is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


def test_page_size_is_capped(actor):
    body = post(actor.client, "{ projects(first: 101) { totalCount } }").json()
    assert body["data"] is None and "first" in body["errors"][0]["message"]


def test_malformed_cursor_is_an_error(actor):
    body = post(actor.client, '{ projects(after: "garbage") { totalCount } }').json()
    assert body["data"] is None and "cursor" in body["errors"][0]["message"].lower()


def test_unexpected_errors_are_masked(actor, monkeypatch):
    def broken(*_args):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("graphql_api.projects.queries.projects_page", broken)
    body = post(actor.client, "{ projects { totalCount } }").json()
    assert body["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in str(body)


def test_malformed_request_body_is_a_400(actor):
    response = actor.client.post("/graphql", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_mutations_are_refused_over_get(actor):
    response = actor.client.get("/graphql", params={"query": 'mutation { createProject(input: {title: "x"}) { __typename } }'})
    assert response.status_code >= 400
    assert run(actor.client, "{ projects { totalCount } }")["projects"]["totalCount"] == 0
