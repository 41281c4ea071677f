"""No N+1 in GraphQL: a page of projects with their tasks, annotations, predictions and users
costs the same small number of SQL statements whatever the number of rows."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from core.annotations.models import Annotation
from core.db.unit_of_work import transaction
from core.predictions.models import Prediction
from core.projects.models import Project
from core.tasks.models import Task

QUERY = """{ projects(first: 20) { edges { node {
    taskNumber createdBy { email }
    tasks(first: 50) { totalCount edges { node {
        annotations { id completedBy { email } }
        predictions { id } } } } } } } }"""

# Authentication (1: user, token and organization in one row), projects page (1), counters (2),
# project creators (1), task pages (1), task counts (1), annotations (1), predictions (1),
# annotation authors (1).
EXPECTED_STATEMENTS = 10


def seed(app, actor, annotator, projects: int, tasks_per_project: int) -> None:
    """Bulk inserts: projects by `actor`, then tasks, each with one annotation by `annotator` and one prediction."""
    result = [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]
    with transaction(app.state.session_factory) as session:
        project_ids = session.scalars(
            insert(Project).returning(Project.id, sort_by_parameter_order=True),
            [{"organization_id": actor.organization_id, "created_by_id": actor.user_id, "title": f"P{n}"} for n in range(projects)],
        ).all()
        task_rows = [
            {"project_id": project_id, "data": {"text": f"t{n}"}, "inner_id": n + 1, "total_annotations": 1, "total_predictions": 1}
            for project_id in project_ids
            for n in range(tasks_per_project)
        ]
        task_ids = session.scalars(insert(Task).returning(Task.id, sort_by_parameter_order=True), task_rows).all()
        projects_of_tasks = [row["project_id"] for row in task_rows]
        session.execute(
            insert(Annotation),
            [{"task_id": t, "project_id": p, "completed_by_id": annotator.user_id, "result": result} for t, p in zip(task_ids, projects_of_tasks)],
        )
        session.execute(
            insert(Prediction),
            [{"task_id": t, "project_id": p, "result": result, "score": 0.5} for t, p in zip(task_ids, projects_of_tasks)],
        )


@pytest.mark.parametrize("projects,tasks_per_project", [(20, 50), (5, 10)])
def test_project_tree_costs_a_constant_number_of_statements(app, actor, make_actor, statement_counter, projects, tasks_per_project):
    annotator = make_actor("annotator@example.com", same_org_as=actor)
    seed(app, actor, annotator, projects, tasks_per_project)
    with statement_counter() as statements:
        response = actor.client.post("/graphql", json={"query": QUERY})
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    edges = body["data"]["projects"]["edges"]
    assert len(edges) == projects
    for edge in edges:
        project = edge["node"]
        assert project["taskNumber"] == tasks_per_project
        assert project["createdBy"] == {"email": actor.email}
        assert project["tasks"]["totalCount"] == tasks_per_project
        assert len(project["tasks"]["edges"]) == tasks_per_project
        for task_edge in project["tasks"]["edges"]:
            task = task_edge["node"]
            assert len(task["annotations"]) == 1 and task["annotations"][0]["completedBy"] == {"email": annotator.email}
            assert len(task["predictions"]) == 1
    assert statements() == EXPECTED_STATEMENTS
