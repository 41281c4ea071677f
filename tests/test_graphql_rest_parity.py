"""REST and GraphQL run the same core use cases: what one writes, the other reads identically."""
from __future__ import annotations

import base64

LABEL_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>
</View>"""
RESULT = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
COUNTERS = {
    "task_number": "taskNumber",
    "finished_task_number": "finishedTaskNumber",
    "total_annotations_number": "totalAnnotationsNumber",
    "skipped_annotations_number": "skippedAnnotationsNumber",
    "total_predictions_number": "totalPredictionsNumber",
    "num_tasks_with_annotations": "numTasksWithAnnotations",
    "useful_annotation_number": "usefulAnnotationNumber",
    "ground_truth_number": "groundTruthNumber",
}


def graphql(actor, query: str, **variables) -> dict:
    body = actor.client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert not body.get("errors"), body
    return body["data"]


def test_counters_of_a_rest_import_match_in_graphql(actor):
    project = actor.client.post("/api/projects/", json={"title": "Parity", "label_config": LABEL_CONFIG}).json()
    tasks = [
        {"data": {"text": "a"}, "annotations": [{"result": RESULT}], "predictions": [{"result": RESULT}]},
        {"data": {"text": "b"}, "annotations": [{"result": RESULT, "was_cancelled": True}]},
        {"data": {"text": "c"}, "annotations": [{"result": RESULT, "ground_truth": True}]},
        {"data": {"text": "d"}},
    ]
    assert actor.client.post(f"/api/projects/{project['id']}/import", json=tasks).status_code == 201
    rest = actor.client.get(f"/api/projects/{project['id']}/").json()
    project_id = base64.b64encode(f"Project:{project['id']}".encode()).decode()
    fields = " ".join(COUNTERS.values())
    data = graphql(actor, f"query($id: ID!) {{ project(id: $id) {{ title labelConfig {fields} }} }}", id=project_id)["project"]
    assert data["title"] == rest["title"] and data["labelConfig"] == rest["label_config"]
    assert {name: data[camel] for name, camel in COUNTERS.items()} == {name: rest[name] for name in COUNTERS}


def test_graphql_writes_are_what_rest_reads(actor):
    created = graphql(
        actor,
        """mutation($input: ProjectInput!) { createProject(input: $input) { ... on ProjectPayload { project { id pk } } } }""",
        input={"title": "From GraphQL", "labelConfig": LABEL_CONFIG, "maximumAnnotations": 3},
    )["createProject"]["project"]
    task = graphql(
        actor,
        """mutation($project: ID!) { createTask(projectId: $project, input: {data: {text: "hi"}}) { ... on TaskPayload { task { id pk } } } }""",
        project=created["id"],
    )["createTask"]["task"]
    graphql(
        actor,
        """mutation($task: ID!, $input: AnnotationInput!) { createAnnotation(taskId: $task, input: $input) { __typename } }""",
        task=task["id"],
        input={"result": RESULT},
    )
    rest_project = actor.client.get(f"/api/projects/{created['pk']}/").json()
    assert (rest_project["title"], rest_project["maximum_annotations"], rest_project["task_number"]) == ("From GraphQL", 3, 1)
    rest_task = actor.client.get(f"/api/tasks/{task['pk']}/").json()
    assert rest_task["data"] == {"text": "hi"} and rest_task["total_annotations"] == 1
