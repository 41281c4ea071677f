"""REST shapes as Label Studio 1.23.2 prints them where they differ from its spec (version, organization,
project keys, model versions), and ids that SQLite never hands out twice."""
from __future__ import annotations

import importlib.metadata
import re
import sqlite3
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import Boolean, DateTime, Float, Integer, MetaData, String, Text, create_engine, insert

from core.db.migrate import alembic_config, upgrade_head
from core.db.models import Base
from core.ml.models import MLBackend
from core.organizations.models import OrganizationMember
from core.projects.models import Project
from tests.openapi_contract import assert_matches_spec
from tests.test_annotations import RESULT, make_project, make_tasks

# --- /api/version/ ---------------------------------------------------------------------------------------

# Label Studio 1.23.2's answer, key by key (its values are its own build's).
LS_VERSION_KEYS = {
    "release": None,
    "label-studio-os-package": {"version", "short_version", "latest_version_from_pypi", "latest_version_upload_time",
                                "current_version_is_outdated"},
    "label-studio-os-backend": {"message", "commit", "date", "branch", "version"},
    "label-studio-frontend": {"message", "commit", "date", "branch"},
    "dm2": {"message", "commit", "date", "branch"},
    "label-studio-converter": {"version"},
    "edition": None,
}


def test_version_has_label_studios_keys_with_labelgraphs_values(client):
    body = assert_matches_spec(client.get("/api/version/"), "GET", "/api/version/")
    assert list(body)[: len(LS_VERSION_KEYS)] == list(LS_VERSION_KEYS)
    for key, nested in LS_VERSION_KEYS.items():
        if nested is not None:
            assert set(body[key]) == nested, key
    package = importlib.metadata.version("labelgraph")
    assert body["release"] == "1.23.2" and body["edition"] == "Community"
    assert body["label-studio-os-package"]["short_version"] == "1.23"
    assert body["label-studio-os-package"]["current_version_is_outdated"] is False
    backend = body["label-studio-os-backend"]
    assert backend["version"] == package and body["label-studio-converter"] == {"version": package}
    assert re.fullmatch(r"([0-9a-f]{40})?", backend["commit"])


# --- /api/organizations/{id} -------------------------------------------------------------------------------


def test_organization_has_label_studios_fields(actor, make_actor, db):
    mate = make_actor("mate@example.com", same_org_as=actor)
    gone = make_actor("gone@example.com", same_org_as=actor)
    db.query(OrganizationMember).filter_by(organization_id=actor.organization_id, user_id=gone.user_id).update(
        {"deleted_at": datetime(2026, 1, 1)}
    )
    db.commit()
    patched = actor.client.patch(f"/api/organizations/{actor.organization_id}", json={"contact_info": "boss@example.com"})
    body = assert_matches_spec(patched, "PATCH", "/api/organizations/{id}")
    assert body["contact_info"] == "boss@example.com"

    body = assert_matches_spec(actor.client.get(f"/api/organizations/{actor.organization_id}"), "GET", "/api/organizations/{id}")
    assert list(body)[:8] == ["id", "title", "token", "created_at", "updated_at", "contact_info", "created_by", "users"]
    assert body["created_by"] == actor.user_id
    assert body["users"] == sorted([actor.user_id, mate.user_id])  # removed members are not users any more
    assert body["contact_info"] == "boss@example.com" and body["updated_at"].endswith("Z")


# --- projects --------------------------------------------------------------------------------------------


def test_project_list_and_detail_carry_data_credentials_and_null_enterprise_links(actor):
    project = make_project(actor, task_data_login="reader", task_data_password="s3cret")
    detail = assert_matches_spec(actor.client.get(f"/api/projects/{project}/"), "GET", "/api/projects/{id}/")
    listed = actor.client.get("/api/projects/").json()["results"][0]
    for body in (detail, listed):
        assert (body["task_data_login"], body["task_data_password"]) == ("reader", "s3cret")
        # label-studio-sdk's models: lists and an id; "" made every projects.get() warn.
        assert (body["members"], body["prompts"], body["workspace"]) == (None, None, None)


def predict(actor, task: int, model_version: str | None) -> None:
    body = {"task": task, "result": RESULT} | ({"model_version": model_version} if model_version is not None else {})
    response = actor.client.post("/api/predictions/", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def versioned_project(actor) -> int:
    """Predictions of v1 (twice), then v2, then one imported without a version ("undefined"), in that order."""
    project = make_project(actor)
    first, second = make_tasks(actor, project, 2)
    predict(actor, first, "v1")
    predict(actor, second, "v1")
    predict(actor, second, "v2")
    response = actor.client.post(f"/api/projects/{project}/import", json=[{"data": {"text": "x"}, "predictions": [{"result": RESULT}]}])
    assert response.status_code == 201, response.text
    return project


def set_model_version(db, project_id: int, version: str) -> None:
    db.get(Project, project_id).model_version = version
    db.commit()


def test_model_versions_count_predictions_newest_version_first(actor, stranger, db, versioned_project):
    url = f"/api/projects/{versioned_project}/model-versions/"
    response = actor.client.get(url)
    assert response.status_code == 200
    assert list(response.json().items()) == [("undefined", 1), ("v2", 1), ("v1", 2)]

    # The project's own version is listed even without predictions (they were deleted), if there is room.
    set_model_version(db, versioned_project, "v3")
    assert list(actor.client.get(url).json().items()) == [("undefined", 1), ("v2", 1), ("v1", 2), ("v3", 0)]
    assert actor.client.get(url + "?limit=1").json() == {"undefined": 1}
    assert actor.client.get(url + "?limit=4").json() == {"undefined": 1, "v2": 1, "v1": 2, "v3": 0}

    extended = actor.client.get(url + "?extended=true").json()
    assert extended["live"] is None
    assert [(v["model_version"], v["count"]) for v in extended["static"]] == [("undefined", 1), ("v2", 1), ("v1", 2)]
    assert all(v["latest"].endswith("Z") for v in extended["static"])

    assert stranger.client.get(url).status_code == 404
    assert actor.client.get("/api/projects/999999/model-versions/").status_code == 404


def test_model_versions_extended_lists_live_models(actor, db, versioned_project):
    backend = MLBackend(project_id=versioned_project, url="http://ml.example.com", title="m")
    db.add(backend)
    db.commit()
    body = actor.client.get(f"/api/projects/{versioned_project}/model-versions/?extended=1&include_live_models=true").json()
    assert [model["id"] for model in body["live"]] == [backend.id]
    assert body["live"][0]["url"] == "http://ml.example.com"


@pytest.mark.parametrize("query, field, message", [
    ("limit=x", "limit", "A valid integer is required."),
    ("limit=-1", "limit", "Ensure this value is greater than or equal to 0."),
    ("extended=maybe", "extended", "Must be a valid boolean."),
    ("include_live_models=2", "include_live_models", "Must be a valid boolean."),
])
def test_model_versions_bad_parameters_are_400(actor, query, field, message):
    project = make_project(actor)
    response = actor.client.get(f"/api/projects/{project}/model-versions/?{query}")
    assert response.status_code == 400
    assert response.json()["validation_errors"] == {field: [message]}


def test_graphql_project_model_versions(actor, db, versioned_project, statement_counter):
    make_project(actor)  # a second project, without predictions
    set_model_version(db, versioned_project, "v3")
    query = "{ projects(first: 10) { edges { node { pk modelVersions { modelVersion count latest } } } } }"
    with statement_counter() as statements:
        response = actor.client.post("/graphql", json={"query": query})
    body = response.json()
    assert "errors" not in body, body
    by_project = {edge["node"]["pk"]: edge["node"]["modelVersions"] for edge in body["data"]["projects"]["edges"]}
    versions = by_project.pop(versioned_project)
    assert [(v["modelVersion"], v["count"]) for v in versions] == [("undefined", 1), ("v2", 1), ("v1", 2), ("v3", 0)]
    assert versions[-1]["latest"] is None and versions[0]["latest"] is not None
    assert list(by_project.values()) == [[]]
    first_count = statements()

    for _ in range(3):  # more projects, the same statements: one grouped read for all
        make_project(actor)
    with statement_counter() as statements:
        actor.client.post("/graphql", json={"query": query})
    assert statements() == first_count


# --- ids are never reused ----------------------------------------------------------------------------------


def test_a_deleted_projects_id_is_never_given_again(actor):
    first = make_project(actor)
    last = make_project(actor)
    assert actor.client.delete(f"/api/projects/{last}/").status_code == 204
    again = make_project(actor)
    assert again not in (first, last) and again > last
    assert actor.client.get(f"/api/projects/{last}/").status_code == 404


def test_a_deleted_tasks_id_is_never_given_again(actor):
    project = make_project(actor)
    [task] = make_tasks(actor, project)
    assert actor.client.delete(f"/api/tasks/{task}/").status_code == 204
    [again] = make_tasks(actor, project)
    assert again > task


# --- migration 0004 on an existing SQLite database ---------------------------------------------------------

_FILLERS = ((Boolean, False), (Integer, 0), (Float, 0.0), (DateTime, datetime(2026, 1, 1)), (String, "x"), (Text, "x"))


def _fill(table, values: dict, n: int) -> dict:
    """`values`, and a value of its type for every other required column (as revision 0003 has them)."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        filler = next((value for kind, value in _FILLERS if isinstance(column.type, kind)), {})
        row[column.name] = f"{filler}{n}" if isinstance(filler, str) else filler
    return row


def _schema(path) -> dict[str, list[str]]:
    """Each table's and index's SQL, lines sorted (a rebuilt table quotes its name, orders constraints)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                            "AND name != 'alembic_version'").fetchall()
    return {name: sorted(line.strip().rstrip(",").replace(f'"{name}"', name) for line in sql.splitlines()) for name, sql in rows}


def test_migration_0004_keeps_rows_and_keys_of_an_existing_sqlite_database(tmp_path):
    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    command.upgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    rows = {
        "organizations": [{"id": 1}],
        "users": [{"id": 1, "active_organization_id": 1}],
        "organization_members": [{"id": 1, "organization_id": 1, "user_id": 1}],
        "projects": [{"id": 1, "organization_id": 1, "created_by_id": 1}, {"id": 2, "organization_id": 1, "created_by_id": None}],
        "tasks": [{"id": i, "project_id": 1 + i // 3} for i in range(1, 6)],
        "annotations": [{"id": 1, "task_id": 1, "project_id": 1, "completed_by_id": 1}],
        "predictions": [{"id": 7, "task_id": 4, "project_id": 2}],
    }
    with engine.begin() as conn:
        for name, values in rows.items():
            table = tables.tables[name]
            conn.execute(insert(table), [_fill(table, row, n) for n, row in enumerate(values)])
    engine.dispose()

    upgrade_head(url)

    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, project_id FROM tasks ORDER BY id").fetchall() == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)]
        assert conn.execute("SELECT id, task_id FROM annotations").fetchall() == [(1, 1)]
        assert conn.execute("SELECT id, task_id, project_id FROM predictions").fetchall() == [(7, 4, 2)]
        assert conn.execute("SELECT created_by_id FROM projects WHERE id = 1").fetchone() == (1,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("PRAGMA foreign_keys=ON")
        # Foreign keys still hold: deleting project 2 cascades to its tasks and their prediction...
        conn.execute("DELETE FROM projects WHERE id = 2")
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM predictions").fetchone() == (0,)
    # ...and the next project does not get its id.
    engine = create_engine(url)
    with engine.begin() as conn:
        projects = tables.tables["projects"]
        new_id = conn.execute(insert(projects).returning(projects.c.id), [_fill(projects, {"organization_id": 1}, 9)]).scalar()
    engine.dispose()
    assert new_id == 3

    # The rebuilt tables are those a new database gets from the models.
    fresh = tmp_path / "fresh.sqlite3"
    fresh_engine = create_engine(f"sqlite:///{fresh}")
    Base.metadata.create_all(fresh_engine)
    fresh_engine.dispose()
    assert _schema(path) == _schema(fresh)

    # And back: downgrade then upgrade again keeps the rows.
    command.downgrade(alembic_config(url), "0003")
    upgrade_head(url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (2,)
