"""GET /api/projects/{id}/export: JSON and JSON_MIN exactly as Label Studio 1.23.2 writes them."""
from __future__ import annotations

from datetime import datetime

import orjson
import pytest
from sqlalchemy import select

import core.exports.json_export as json_export
from core.annotations.models import Annotation
from core.predictions.models import Prediction
from core.tasks.counters import refresh_task_counters
from core.tasks.models import Task

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices>'
    '<TextArea name="note" toName="text"/>'
    '<Labels name="spans" toName="text"><Label value="PER"/></Labels></View>'
)
T0 = datetime(2024, 5, 1, 10, 0, 0, 123456)
T1 = datetime(2024, 5, 1, 11, 30, 0, 654321)
T2 = datetime(2024, 5, 2, 9, 0, 0)

SENTIMENT = {"id": "r1", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}
NOTE = {"id": "r2", "from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": ["nice"]}}
SPAN = {"id": "r3", "from_name": "spans", "to_name": "text", "type": "labels",
        "value": {"start": 0, "end": 5, "text": "hello", "labels": ["PER"]}}


def create_project(actor, **fields) -> int:
    response = actor.client.post("/api/projects/", json={"title": "Export", "label_config": CONFIG, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def add_task(db, project_id: int, data: dict, *, inner_id: int, meta: dict | None = None) -> int:
    task = Task(project_id=project_id, data=data, meta=meta if meta is not None else {}, inner_id=inner_id,
                created_at=T0, updated_at=T0)
    db.add(task)
    db.flush()
    return task.id


def add_annotation(db, task_id: int, project_id: int, user_id: int | None, result: list, *, created_at=T1,
                   cancelled=False, lead_time=None, ground_truth=False) -> int:
    annotation = Annotation(task_id=task_id, project_id=project_id, completed_by_id=user_id, result=result,
                            was_cancelled=cancelled, lead_time=lead_time, ground_truth=ground_truth,
                            created_at=created_at, updated_at=created_at, unique_id=f"u-{task_id}-{len(result)}")
    db.add(annotation)
    db.flush()
    return annotation.id


@pytest.fixture
def exported_project(actor, db):
    """Three tasks: annotated (+ prediction), untouched, skipped only."""
    project_id = create_project(actor)
    annotated = add_task(db, project_id, {"text": "hello"}, inner_id=1, meta={"source": "a"})
    plain = add_task(db, project_id, {"text": "plain"}, inner_id=2)
    skipped = add_task(db, project_id, {"text": "skipped"}, inner_id=3)
    first = add_annotation(db, annotated, project_id, actor.user_id, [SENTIMENT, NOTE, SPAN], lead_time=3.5)
    older = add_annotation(db, annotated, project_id, actor.user_id, [{**SENTIMENT, "value": {"choices": ["pos", "neg"]}}],
                           created_at=T0)
    skip = add_annotation(db, skipped, project_id, actor.user_id, [], cancelled=True, created_at=T2)
    prediction = Prediction(task_id=annotated, project_id=project_id, result=[SENTIMENT], score=0.5, model_version="m1")
    db.add(prediction)
    db.flush()
    refresh_task_counters(db, [annotated, plain, skipped])
    db.commit()
    return {
        "project": project_id, "annotated": annotated, "plain": plain, "skipped": skipped,
        "first": first, "older": older, "skip": skip, "prediction": prediction.id,
    }


def annotation_json(annotation_id, task_id, project_id, user_id, result, *, created_at, cancelled=False,
                    lead_time=None, unique_id):
    return {
        "id": annotation_id, "completed_by": user_id, "result": result, "was_cancelled": cancelled,
        "ground_truth": False, "created_at": created_at, "updated_at": created_at, "draft_created_at": None,
        "lead_time": lead_time, "prediction": {},
        "result_count": len({region.get("id") for region in result}), "unique_id": unique_id, "import_id": None,
        "last_action": None, "bulk_created": False, "task": task_id, "project": project_id, "updated_by": None,
        "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
    }


def task_json(task_id, project_id, data, inner_id, annotations, predictions, *, meta=None, total=0, cancelled=0,
              total_predictions=0):
    return {
        "id": task_id, "annotations": annotations, "drafts": [], "predictions": predictions, "data": data,
        "meta": meta or {}, "created_at": "2024-05-01T10:00:00.123456Z", "updated_at": "2024-05-01T10:00:00.123456Z",
        "allow_skip": True, "inner_id": inner_id, "total_annotations": total, "cancelled_annotations": cancelled,
        "total_predictions": total_predictions, "comment_count": 0, "unresolved_comment_count": 0,
        "last_comment_updated_at": None, "project": project_id, "updated_by": None, "comment_authors": [],
    }


def expected_annotated_task(p, user_id):
    return task_json(
        p["annotated"], p["project"], {"text": "hello"}, 1,
        [
            annotation_json(p["first"], p["annotated"], p["project"], user_id, [SENTIMENT, NOTE, SPAN],
                            created_at="2024-05-01T11:30:00.654321Z", lead_time=3.5, unique_id=f"u-{p['annotated']}-3"),
            annotation_json(p["older"], p["annotated"], p["project"], user_id,
                            [{**SENTIMENT, "value": {"choices": ["pos", "neg"]}}],
                            created_at="2024-05-01T10:00:00.123456Z", unique_id=f"u-{p['annotated']}-1"),
        ],
        [p["prediction"]], meta={"source": "a"}, total=2, total_predictions=1,
    )


def expected_skipped_task(p, user_id):
    return task_json(
        p["skipped"], p["project"], {"text": "skipped"}, 3,
        [annotation_json(p["skip"], p["skipped"], p["project"], user_id, [], created_at="2024-05-02T09:00:00Z",
                         cancelled=True, unique_id=f"u-{p['skipped']}-0")],
        [], cancelled=1,
    )


def export(actor, project_id: int, query: str = ""):
    return actor.client.get(f"/api/projects/{project_id}/export{query}")


def test_json_export_defaults_to_tasks_with_annotations(actor, exported_project):
    p = exported_project
    response = export(actor, p["project"], "?exportType=JSON")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")  # a file (format: binary in the spec)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="project-{p["project"]}-at-') and disposition.endswith('.json"')
    assert response.json() == [expected_annotated_task(p, actor.user_id), expected_skipped_task(p, actor.user_id)]
    # Key order is Label Studio's too (diffs of exported files stay readable).
    assert list(response.json()[0]) == list(expected_annotated_task(p, actor.user_id))


def test_json_export_all_tasks_and_selected_ids(actor, exported_project):
    p = exported_project
    everything = export(actor, p["project"], "?download_all_tasks=true").json()
    plain = task_json(p["plain"], p["project"], {"text": "plain"}, 2, [], [])
    assert everything == [expected_annotated_task(p, actor.user_id), plain, expected_skipped_task(p, actor.user_id)]
    only = export(actor, p["project"], f"?download_all_tasks=true&ids[]={p['plain']}&ids[]={p['skipped']}").json()
    assert [task["id"] for task in only] == [p["plain"], p["skipped"]]
    assert export(actor, p["project"], f"?ids[]={p['plain']}").json() == []


def test_json_min_export(actor, exported_project):
    p = exported_project
    response = export(actor, p["project"], "?exportType=JSON_MIN&download_all_tasks=true")
    assert response.status_code == 200
    span_region = {"start": 0, "end": 5, "text": "hello", "labels": ["PER"]}
    expected = [
        {"text": "hello", "id": p["annotated"], "sentiment": "pos", "note": "nice", "spans": [span_region],
         "annotator": actor.user_id, "annotation_id": p["first"], "created_at": "2024-05-01T11:30:00.654321Z",
         "updated_at": "2024-05-01T11:30:00.654321Z", "lead_time": 3.5},
        {"text": "hello", "id": p["annotated"], "sentiment": {"choices": ["pos", "neg"]}, "annotator": actor.user_id,
         "annotation_id": p["older"], "created_at": "2024-05-01T10:00:00.123456Z",
         "updated_at": "2024-05-01T10:00:00.123456Z", "lead_time": None},
        {"text": "plain", "id": p["plain"], "annotator": None, "annotation_id": None, "created_at": None,
         "updated_at": None, "lead_time": None},
    ]
    assert response.json() == expected
    assert [list(record) for record in response.json()] == [list(record) for record in expected]
    assert response.content.startswith(b'[\n{\n  "text": "hello",\n  "id": ')  # the converter's layout


def test_json_min_equals_the_sdk_converter_output(actor, exported_project, tmp_path):
    from label_studio_sdk.converter import Converter

    from core.label_config import parsed_label_config

    p = exported_project
    source = tmp_path / "export.json"
    source.write_bytes(export(actor, p["project"], "?download_all_tasks=true").content)
    Converter(config=parsed_label_config(CONFIG), project_dir=None).convert(
        str(source), str(tmp_path / "out"), "JSON_MIN", is_dir=False
    )
    converted = (tmp_path / "out" / "result.json").read_bytes()
    ours = export(actor, p["project"], "?exportType=JSON_MIN&download_all_tasks=true").content
    assert orjson.loads(ours) == orjson.loads(converted)
    assert ours == converted


@pytest.mark.parametrize("export_type, extension", [("CSV", "csv"), ("TSV", "csv")])  # LS names TSV files .csv
def test_csv_and_tsv_equal_the_sdk_converter_output(actor, db, exported_project, tmp_path, export_type, extension):
    from label_studio_sdk.converter import Converter

    from core.label_config import parsed_label_config

    p = exported_project
    # Task data sharing a name with a control, nested values and a slash exercise the converter's rules.
    add_task(db, p["project"], {"text": "a/b", "sentiment": "clash", "extra": {"k": [1, "é"]}}, inner_id=4)
    db.commit()
    source = tmp_path / "export.json"
    source.write_bytes(export(actor, p["project"], "?download_all_tasks=true").content)
    Converter(config=parsed_label_config(CONFIG), project_dir=None).convert(
        str(source), str(tmp_path / "out"), export_type, is_dir=False
    )
    (converted,) = (tmp_path / "out").iterdir()
    expected = converted.read_bytes()
    response = export(actor, p["project"], f"?exportType={export_type}&download_all_tasks=true")
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith(f'.{extension}"')
    assert response.content == expected


def test_export_formats(actor, exported_project, stranger):
    response = actor.client.get(f"/api/projects/{exported_project['project']}/export/formats")
    assert response.status_code == 200
    formats = response.json()
    enabled = [f["name"] for f in formats if not f.get("disabled")]
    # As Label Studio: Text + Labels offers CONLL2003, a TextArea offers DOCLANG.
    assert enabled == ["JSON", "JSON_MIN", "CSV", "TSV", "CONLL2003", "DOCLANG"]
    assert formats[0] == {
        "title": "JSON",
        "description": "List of items in raw JSON format stored in one JSON file. Use to export both the data and "
        "the annotations for a dataset. It's Label Studio Common Format",
        "link": "https://labelstud.io/guide/export.html#JSON",
        "name": "JSON",
    }
    assert all(f["disabled"] is True for f in formats[6:])
    assert stranger.client.get(f"/api/projects/{exported_project['project']}/export/formats").status_code == 404


def test_json_min_keeps_regions_of_configs_without_controls(actor, db):
    project_id = create_project(actor, label_config="<View></View>")
    task = add_task(db, project_id, {"x": 1}, inner_id=1)
    add_annotation(db, task, project_id, None, [{"from_name": "custom", "to_name": "x", "type": "rating", "value": {"rating": 4}}])
    db.commit()
    records = export(actor, project_id, "?exportType=JSON_MIN").json()
    assert records[0]["custom"] == [{"rating": 4}] and records[0]["annotator"] == "None"


def test_task_data_without_key_is_named_after_the_config(actor, db):
    project_id = create_project(actor)
    task = add_task(db, project_id, {"$undefined$": "loose text"}, inner_id=1)
    add_annotation(db, task, project_id, actor.user_id, [SENTIMENT])
    db.commit()
    assert export(actor, project_id).json()[0]["data"] == {"text": "loose text"}
    assert export(actor, project_id, "?exportType=JSON_MIN").json()[0]["text"] == "loose text"


def test_export_of_an_empty_project(actor):
    project_id = create_project(actor)
    assert export(actor, project_id).json() == []
    assert export(actor, project_id, "?exportType=JSON_MIN").json() == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("?exportType=BOGUS", "export_type"),
        ("?exportType=CSV_OLD", "export_type"),  # a converter format Label Studio never offers
        ("?download_all_tasks=maybe", "download_all_tasks"),
        ("?ids[]=abc", "ids"),
    ],
)
def test_bad_export_parameters(actor, exported_project, query, field):
    response = export(actor, exported_project["project"], query)
    assert response.status_code == 400
    assert field in response.json()["validation_errors"]


def test_export_of_another_organizations_project_is_not_found(stranger, exported_project):
    assert export(stranger, exported_project["project"]).status_code == 404
    assert export(stranger, 999999).status_code == 404


def test_export_reads_a_constant_number_of_statements_per_batch(actor, db, statement_counter, monkeypatch):
    project_id = create_project(actor)
    for index in range(7):
        task = add_task(db, project_id, {"text": f"t{index}"}, inner_id=index + 1)
        add_annotation(db, task, project_id, actor.user_id, [SENTIMENT])
        db.add(Prediction(task_id=task, project_id=project_id, result=[SENTIMENT], model_version="m"))
    db.commit()
    monkeypatch.setattr(json_export, "BATCH_SIZE", 3)
    with statement_counter() as count:
        tasks = export(actor, project_id).json()
    assert len(tasks) == 7 and all(len(task["annotations"]) == 1 and len(task["predictions"]) == 1 for task in tasks)
    batches = 3  # 3 + 3 + 1 tasks
    request_overhead = 4  # authentication and the project lookup
    assert count() <= request_overhead + 3 * batches


def test_large_export_is_valid_json(actor, db):
    project_id = create_project(actor)
    db.execute(
        Task.__table__.insert(),
        [{"project_id": project_id, "data": {"text": f"t{i}", "n": i}, "meta": {}, "inner_id": i + 1,
          "created_at": T0, "updated_at": T0} for i in range(2500)],
    )
    db.commit()
    task_ids = db.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)).all()
    response = export(actor, project_id, "?download_all_tasks=true")
    tasks = orjson.loads(response.content)
    assert [task["id"] for task in tasks] == list(task_ids)
    assert tasks[-1]["data"] == {"text": "t2499", "n": 2499}


# What Label Studio 1.23.2 exported after importing IMPORTED_TASKS (ids, times and uuids normalised).
IMPORTED_TASKS = [
    {"data": {"text": "hello"}, "meta": {"m": 1},
     "annotations": [{"result": [SENTIMENT, NOTE], "lead_time": 3.5}],
     "predictions": [{"result": [{k: v for k, v in SENTIMENT.items() if k != "id"}], "score": 0.5, "model_version": "m1"}]},
    {"data": {"text": "plain"}},
    {"data": {"text": "skipped"}, "annotations": [{"result": [], "was_cancelled": True}]},
]
LS_ANNOTATION_KEYS = [
    "id", "completed_by", "result", "was_cancelled", "ground_truth", "created_at", "updated_at", "draft_created_at",
    "lead_time", "prediction", "result_count", "unique_id", "import_id", "last_action", "bulk_created", "task",
    "project", "updated_by", "parent_prediction", "parent_annotation", "last_created_by",
]
LS_TASK_KEYS = [
    "id", "annotations", "drafts", "predictions", "data", "meta", "created_at", "updated_at", "allow_skip",
    "inner_id", "total_annotations", "cancelled_annotations", "total_predictions", "comment_count",
    "unresolved_comment_count", "last_comment_updated_at", "project", "updated_by", "comment_authors",
]


def test_export_after_a_rest_import_matches_label_studio(actor):
    project_id = create_project(actor)
    response = actor.client.post(f"/api/projects/{project_id}/import?return_task_ids=true", json=IMPORTED_TASKS)
    assert response.status_code == 201, response.text
    first, second, third = response.json()["task_ids"]
    tasks = export(actor, project_id).json()
    assert [task["id"] for task in tasks] == [first, third]
    for task in tasks:
        assert list(task) == LS_TASK_KEYS
        assert all(list(annotation) == LS_ANNOTATION_KEYS for annotation in task["annotations"])
    hello, skipped = tasks
    assert hello["data"] == {"text": "hello"} and hello["meta"] == {"m": 1} and hello["inner_id"] == 1
    assert len(hello["predictions"]) == 1 and isinstance(hello["predictions"][0], int)
    (annotation,) = hello["annotations"]
    assert annotation["result"] == [SENTIMENT, NOTE] and annotation["lead_time"] == 3.5
    assert annotation["completed_by"] == actor.user_id and annotation["task"] == first
    assert annotation["project"] == project_id and annotation["prediction"] == {}
    assert (hello["total_annotations"], hello["cancelled_annotations"], hello["total_predictions"]) == (1, 0, 1)
    assert skipped["annotations"][0]["was_cancelled"] is True and skipped["cancelled_annotations"] == 1
    assert skipped["meta"] == {} and skipped["predictions"] == []
    records = export(actor, project_id, "?exportType=JSON_MIN&download_all_tasks=true").json()
    assert [(r["id"], r.get("sentiment"), r.get("note")) for r in records] == [(first, "pos", "nice"), (second, None, None)]


def test_python_rendering_matches_the_database_rendering(actor, db, exported_project, monkeypatch):
    """Databases other than SQLite and PostgreSQL get task rows built in Python: same file."""
    p = exported_project
    db.execute(
        Task.__table__.update()
        .where(Task.id == p["plain"])
        .values(comment_count=2, unresolved_comment_count=1, last_comment_updated_at=T1)
    )
    db.commit()
    query = "?download_all_tasks=true"
    rendered_by_database = export(actor, p["project"], query).json()
    plain = next(task for task in rendered_by_database if task["id"] == p["plain"])
    assert (plain["comment_count"], plain["unresolved_comment_count"], plain["last_comment_updated_at"]) == (
        2, 1, "2024-05-01T11:30:00.654321Z"
    )
    monkeypatch.setattr(json_export, "task_tail_json", lambda dialect: None)
    rendered_in_python = export(actor, p["project"], query).json()
    assert rendered_in_python == rendered_by_database
    assert [list(task) for task in rendered_in_python] == [list(task) for task in rendered_by_database]


def test_export_of_many_chosen_ids(actor, db, monkeypatch):
    """Chosen ids are read a batch at a time, however many there are and however far apart."""
    project_id = create_project(actor)
    db.execute(
        Task.__table__.insert(),
        [{"project_id": project_id, "data": {"n": i}, "meta": {}, "inner_id": i + 1, "created_at": T0, "updated_at": T0}
         for i in range(120)],
    )
    db.commit()
    task_ids = db.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id)).all()
    chosen = task_ids[::7]
    annotated = add_annotation(db, chosen[3], project_id, actor.user_id, [SENTIMENT])
    db.commit()
    monkeypatch.setattr(json_export, "BATCH_SIZE", 5)
    query = "?download_all_tasks=true&" + "&".join(f"ids[]={task_id}" for task_id in reversed(chosen + [999999] * 1500))
    tasks = export(actor, project_id, query).json()
    assert [task["id"] for task in tasks] == chosen
    assert [a["id"] for task in tasks for a in task["annotations"]] == [annotated]
