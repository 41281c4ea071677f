"""The Data Manager filter engine (core.data_manager): every operator by type, task data fields
with odd values, ordering by computed columns, selections, bad input; and a property-based
comparison of the SQL engine with a plain-Python evaluation of the same filters.

Expectations marked "Label Studio" were recorded from a Label Studio 1.23.2 server with the same
tasks and filters."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, insert, select

from core.context import Context
from core.data_manager.columns import numeric_prefix
from core.data_manager.filters import compile_filters
from core.data_manager.ordering import compile_ordering
from core.data_manager.selection import resolve_selection
from core.db.unit_of_work import transaction
from core.errors import NotFound, ValidationError
from core.files.models import FileUpload
from core.projects.models import Project
from core.tasks.models import Task
from core.users.models import User

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="sentiment" toName="text"><Choice value="pos"/><Choice value="neg"/></Choices></View>'
)


def choice(value: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


def one(column: str, operator: str, type_: str, value, conjunction: str = "and") -> dict:
    return {"conjunction": conjunction, "items": [{"filter": f"filter:tasks:{column}", "operator": operator, "type": type_, "value": value}]}


@pytest.fixture
def project_id(actor) -> int:
    response = actor.client.post("/api/projects/", json={"title": "dm filters", "label_config": CONFIG})
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def add_tasks(app, project_id):
    """add_tasks([data, ...], **columns) -> the new task ids, in order."""

    def add(datas: list[dict], **columns) -> list[int]:
        with transaction(app.state.session_factory) as session:
            first = session.execute(select(Task.id).order_by(Task.id.desc()).limit(1)).scalar() or 0
            session.execute(insert(Task), [{"project_id": project_id, "data": d, "inner_id": i + 1, **columns} for i, d in enumerate(datas)])
            return list(session.execute(select(Task.id).where(Task.id > first, Task.project_id == project_id).order_by(Task.id)).scalars())

    return add


@pytest.fixture
def query(app, project_id):
    """query(filters, ordering=None) -> ids of the project's tasks the engine selects, in order."""

    def run(filters: dict | None, ordering: list[str] | None = None) -> list[int]:
        session = app.state.session_factory()
        try:
            project = session.get(Project, project_id)
            statement = select(Task.id).where(Task.project_id == project_id, compile_filters(filters, project)).order_by(*compile_ordering(ordering, project))
            return list(session.execute(statement).scalars())
        finally:
            session.close()

    return run


# --- task data fields -----------------------------------------------------------------------------

ODD_DATA = [
    {"text": "a", "a": {"b": 1}},  # 0: nested key
    {"text": "b", "a.b": 1},  # 1: a key with a dot
    {"text": "c", "n": "12"},  # 2: number stored as string
    {"text": "d", "n": 12},  # 3: number
    {"text": "e", "n": None},  # 4: JSON null
    {"text": "f"},  # 5: missing
    {"text": "g", "n": "abc"},  # 6: text
]

# (filters, ordering) -> positions in ODD_DATA, as Label Studio 1.23.2 answers.
DATA_CASES = [
    (one("data.a.b", "equal", "Number", 1), None, [1]),
    (one("data.a.b", "equal", "String", "1"), None, []),
    (one("data.n", "equal", "Number", 12), None, [2, 3]),
    (one("data.n", "equal", "String", "12"), None, [2]),
    (one("data.n", "not_equal", "String", "12"), None, [3, 4, 6]),
    (one("data.n", "greater", "Number", 5), None, [2, 3]),
    (one("data.n", "not_equal", "Number", 12), None, [4, 6]),
    (one("data.n", "empty", "String", True), None, [0, 1, 4, 5]),
    (one("data.n", "empty", "String", False), None, [2, 3, 6]),
    (one("data.n", "contains", "String", "1"), None, [2, 3]),
    (one("data.n", "not_contains", "String", "1"), None, [4, 6]),
    (None, ["tasks:data.n"], [3, 2, 6, 4, 0, 1, 5]),
    (None, ["-tasks:data.n"], [4, 6, 2, 3, 0, 1, 5]),
    # Beyond what was recorded: nested keys with "__", regex, ranges, Unknown type.
    (one("data.a__b", "equal", "Number", 1), None, [0]),
    (one("data.n", "regex", "String", "^a"), None, [6]),
    (one("data.n", "in", "Number", {"min": 10, "max": 12}), None, [2, 3]),
    (one("data.n", "not_in", "Number", {"min": 10, "max": 12}), None, [4, 6]),
    (one("data.n", "less", "Number", 1), None, [4, 6]),
    (one("data.n", "less_or_equal", "Number", 12), None, [2, 3, 4, 6]),
    (one("data.n", "greater_or_equal", "Number", 12), None, [2, 3]),
    # Deliberately not Label Studio's: "empty" is missing, null or "" whatever the filter type.
    (one("data.n", "empty", "Number", True), None, [0, 1, 4, 5]),
    (one("data.text", "equal", "Unknown", "g"), None, [6]),
    (one("data.text", "in", "String", {"min": "b", "max": "d"}), None, [1, 2, 3]),
    (one("data.text", "greater", "String", "e"), None, [5, 6]),
    (one("data.text", "contains", "Image", "A"), None, [0]),
]


@pytest.mark.parametrize("filters,ordering,expected", DATA_CASES)
def test_data_field_filters_and_ordering(add_tasks, query, filters, ordering, expected):
    ids = add_tasks(ODD_DATA)
    assert query(filters, ordering) == [ids[i] for i in expected]


def test_boolean_and_datetime_values_in_task_data(add_tasks, query):
    ids = add_tasks([{"ok": True, "at": "2024-01-02T10:00:00"}, {"ok": False, "at": "2023-06-01"}, {"ok": "true"}, {}])
    # Label Studio: a Boolean filter also matches the strings "true"/"false" (CSV imports).
    assert query(one("data.ok", "equal", "Boolean", True)) == [ids[0], ids[2]]
    assert query(one("data.ok", "equal", "Boolean", "false")) == [ids[1]]
    assert query(one("data.ok", "not_equal", "Boolean", True)) == [ids[1]]
    assert query(one("data.at", "greater", "Datetime", "2024-01-01T00:00:00.000Z")) == [ids[0]]
    assert query(one("data.at", "in", "Datetime", {"min": "2023-01-01T00:00:00.000Z", "max": "2023-12-31T00:00:00.000Z"})) == [ids[1]]


def test_huge_numbers_in_task_data_do_not_fail(add_tasks, query):
    ids = add_tasks([{"n": "9" * 500}, {"n": "1e9999"}, {"n": 1e300}, {"n": "5"}])
    assert query(one("data.n", "greater", "Number", 10)) == ids[:3]
    assert query(None, ["-tasks:data.n"]) == [ids[0], ids[3], ids[1], ids[2]]  # text (byte-wise) before numbers


def test_undefined_data_key_answers_for_the_config_key(add_tasks, query):
    """Tasks imported as bare values before the labeling config ({"$undefined$": ...}) are
    filtered and ordered through the config's one data key, as Label Studio does, once every
    task of the project has "$undefined$"."""
    ids = add_tasks([{"$undefined$": v} for v in ("apple", "banana", "cherry")])
    assert query(one("data.text", "contains", "String", "an")) == [ids[1]]
    assert query(one("data.text", "equal", "String", "apple")) == [ids[0]]
    assert query(None, ["-tasks:data.text"]) == list(reversed(ids))
    assert query(one("data.other", "contains", "String", "an")) == []
    mixed = add_tasks([{"text": "banana split"}])
    assert query(one("data.text", "contains", "String", "an")) == mixed


def test_conjunctions_and_child_filters(add_tasks, query):
    ids = add_tasks([{"t": "x", "n": 1}, {"t": "y", "n": 2}, {"t": "x", "n": 3}])
    x = {"filter": "filter:tasks:data.t", "operator": "equal", "type": "String", "value": "x"}
    big = {"filter": "filter:tasks:data.n", "operator": "greater", "type": "Number", "value": 1}
    assert query({"conjunction": "and", "items": [x, big]}) == [ids[2]]
    assert query({"conjunction": "or", "items": [x, big]}) == ids
    assert query({"conjunction": "or", "items": [{**x, "child_filter": big}]}) == [ids[2]]
    # Label Studio ignores items without a value, and an empty filter list selects everything.
    assert query({"conjunction": "and", "items": [{**x, "value": None}]}) == ids
    assert query({"conjunction": "and", "items": []}) == ids


# --- task columns ---------------------------------------------------------------------------------

def test_number_columns_every_operator(add_tasks, query):
    ids = add_tasks([{}] * 4)
    cases = {
        ("equal", ids[1]): [ids[1]],
        ("not_equal", ids[1]): [ids[0], ids[2], ids[3]],
        ("less", ids[1]): [ids[0]],
        ("greater", ids[1]): [ids[2], ids[3]],
        ("less_or_equal", ids[1]): ids[:2],
        ("greater_or_equal", ids[2]): ids[2:],
        ("in", "range"): ids[1:3],
        ("not_in", "range"): [ids[0], ids[3]],
        ("contains", str(ids[3])[-1]): [i for i in ids if str(i).find(str(ids[3])[-1]) >= 0],
    }
    for (operator, value), expected in cases.items():
        if value == "range":
            value = {"min": ids[1], "max": ids[2]}
        assert query(one("id", operator, "Number", value)) == expected, operator
    assert query(one("inner_id", "greater", "Number", "2")) == ids[2:]  # numbers as strings


def test_counters_empty_means_zero(add_tasks, query):
    ids = add_tasks([{}, {}, {}], total_annotations=0)
    with_annotations = add_tasks([{}], total_annotations=2, cancelled_annotations=1, total_predictions=3)
    assert query(one("total_annotations", "empty", "Number", True)) == ids
    assert query(one("total_annotations", "empty", "Number", False)) == with_annotations
    assert query(one("cancelled_annotations", "greater", "Number", 0)) == with_annotations
    assert query(one("total_predictions", "equal", "Number", 3)) == with_annotations


def test_datetime_columns(add_tasks, query):
    base = datetime(2024, 5, 1, 12, 0, 0)
    ids = add_tasks([{}], created_at=base - timedelta(days=2), completed_at=None)
    ids += add_tasks([{}], created_at=base, completed_at=base + timedelta(hours=1))
    ids += add_tasks([{}], created_at=base + timedelta(days=2), completed_at=base + timedelta(hours=2))
    assert query(one("created_at", "greater", "Datetime", "2024-05-01T00:00:00.000Z")) == ids[1:]
    assert query(one("created_at", "less_or_equal", "Datetime", "2024-05-01T12:00:00.000000Z")) == ids[:2]
    assert query(one("created_at", "in", "Datetime", {"min": "2024-04-30T00:00:00.000Z", "max": "2024-05-02T00:00:00.000Z"})) == [ids[1]]
    assert query(one("created_at", "not_in", "Datetime", {"min": "2024-04-30T00:00:00.000Z", "max": "2024-05-02T00:00:00.000Z"})) == [ids[0], ids[2]]
    assert query(one("completed_at", "empty", "Datetime", True)) == [ids[0]]
    assert query(one("completed_at", "empty", "Datetime", False)) == ids[1:]
    # Label Studio evaluates completed_at as an annotation: "not" filters drop tasks without one.
    assert query(one("completed_at", "not_equal", "Datetime", "2024-05-01T13:00:00.000Z")) == [ids[2]]
    assert query(one("updated_at", "equal", "Datetime", "2020-01-01T00:00:00+00:00")) == []
    assert query(None, ["-tasks:completed_at"]) == [ids[2], ids[1], ids[0]]
    assert query(None, ["tasks:completed_at"]) == [ids[1], ids[2], ids[0]]  # nulls last both ways


def test_annotation_and_prediction_columns(actor, project_id, add_tasks, query):
    ids = add_tasks([{"text": t} for t in ("one", "two", "three", "four")])
    author = actor.user_id
    assert actor.client.post(f"/api/tasks/{ids[0]}/annotations/", json={"result": choice("pos")}).status_code == 201
    assert actor.client.post(f"/api/tasks/{ids[1]}/annotations/", json={"result": choice("neg"), "ground_truth": True}).status_code == 201
    annotation_ids = [a["id"] for a in actor.client.get(f"/api/tasks/{ids[1]}/annotations/").json()]
    for task_id, score, version in ((ids[1], 0.9, "v1"), (ids[2], 0.2, "v2"), (ids[2], 0.4, "v1")):
        response = actor.client.post("/api/predictions/", json={"task": task_id, "result": choice("pos"), "score": score, "model_version": version})
        assert response.status_code == 201, response.text
    # predictions_score averages the project's model version (Label Studio; "" counts as one).
    assert query(one("predictions_score", "empty", "Number", False)) == []
    response = actor.client.patch(f"/api/projects/{project_id}/", json={"model_version": "v1"})
    assert response.status_code == 200, response.text

    assert query(one("annotators", "contains", "List", author)) == ids[:2]
    assert query(one("annotators", "not_contains", "List", author)) == ids[2:]
    assert query(one("annotators", "empty", "List", True)) == ids[2:]
    assert query(one("annotators", "empty", "List", False)) == ids[:2]
    assert query(one("annotations_results", "contains", "String", "neg")) == [ids[1]]
    assert query(one("annotations_results", "not_contains", "String", "neg")) == [ids[0], ids[2], ids[3]]
    assert query(one("annotations_results", "empty", "String", True)) == ids[2:]
    assert query(one("annotations_results", "equal", "String", '[{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}]')) == [ids[0]]
    assert query(one("annotations_results", "equal", "String", "not json")) == []
    assert query(one("annotations_ids", "contains", "String", f"{annotation_ids[0]}, 999999")) == [ids[1]]
    assert query(one("annotations_ids", "equal", "String", str(annotation_ids[0]))) == [ids[1]]
    assert query(one("ground_truth", "equal", "Boolean", True)) == [ids[1]]
    assert query(one("predictions_results", "contains", "String", "pos")) == ids[1:3]
    assert query(one("predictions_model_versions", "contains", "List", ["v2"])) == [ids[2]]
    assert query(one("predictions_model_versions", "not_contains", "List", ["v2"])) == [ids[0], ids[1], ids[3]]
    assert query(one("predictions_model_versions", "empty", "List", True)) == [ids[0], ids[3]]
    assert query(one("predictions_score", "greater", "Number", 0.5)) == [ids[1]]
    assert query(one("predictions_score", "in", "Number", {"min": 0.35, "max": 0.45})) == [ids[2]]  # v1 only
    assert query(one("updated_by", "contains", "List", author)) == ids[:3]  # annotation/prediction writers
    assert query(one("updated_by", "empty", "List", True)) == [ids[3]]
    # Ordering by computed columns: nulls last in both directions, ties by id.
    assert query(None, ["tasks:predictions_score"]) == [ids[2], ids[1], ids[0], ids[3]]
    assert query(None, ["-tasks:predictions_score"]) == [ids[1], ids[2], ids[0], ids[3]]
    assert query(None, ["-tasks:total_annotations"]) == [ids[0], ids[1], ids[2], ids[3]]
    # Stacked columns order by their joined text, as Label Studio on SQLite: no annotator is "".
    assert query(None, ["tasks:annotators"]) == [ids[2], ids[3], ids[0], ids[1]]
    assert query(None, ["-tasks:annotators"]) == [ids[0], ids[1], ids[2], ids[3]]
    assert query(None, ["tasks:predictions_model_versions"]) == [ids[1], ids[2], ids[0], ids[3]]
    assert query(None, ["-tasks:total_predictions"]) == [ids[2], ids[1], ids[0], ids[3]]


def test_file_upload_column_is_the_uploaded_file_name(app, project_id, add_tasks, query):
    with transaction(app.state.session_factory) as session:
        upload_id = session.execute(
            insert(FileUpload).values(project_id=project_id, file=f"upload/{project_id}/1a2b3c4d-reviews.csv").returning(FileUpload.id)
        ).scalar_one()
    from_file = add_tasks([{"t": 1}, {"t": 2}], file_upload_id=upload_id)
    typed = add_tasks([{"t": 3}])
    assert query(one("file_upload", "contains", "String", "reviews")) == from_file
    assert query(one("file_upload", "empty", "String", True)) == typed
    assert query(one("file_upload", "not_contains", "String", "other")) == from_file
    assert query(None, ["-tasks:file_upload"]) == from_file + typed


# --- selections -----------------------------------------------------------------------------------

def test_resolve_selection_with_exclusions_and_inclusions(app, actor, stranger, project_id, add_tasks):
    ids = add_tasks([{"n": n} for n in range(5)])
    session = app.state.session_factory()
    try:
        ctx = Context(session=session, settings=app.state.settings, user=session.get(User, actor.user_id), organization_id=actor.organization_id)
        odd = one("data.n", "in", "Number", {"min": 1, "max": 3})

        def run(filters, ordering, selected):
            return list(session.execute(resolve_selection(ctx, project_id, filters, ordering, selected)).scalars())

        assert run(None, None, {"all": True, "excluded": [ids[0]]}) == ids[1:]
        assert run(odd, ["-tasks:id"], {"all": True, "excluded": [ids[2]]}) == [ids[3], ids[1]]
        assert run(odd, None, {"all": False, "included": [ids[0], ids[1], ids[2]]}) == [ids[1], ids[2]]
        assert run(None, ["-tasks:data.n"], None) == list(reversed(ids))
        with pytest.raises(ValidationError):
            run(None, None, {"all": "yes"})
        with pytest.raises(ValidationError):
            run(None, None, {"all": True, "excluded": ["x"]})
        other = Context(session=session, settings=app.state.settings, user=session.get(User, stranger.user_id), organization_id=stranger.organization_id)
        with pytest.raises(NotFound):
            resolve_selection(other, project_id, None, None, None)
    finally:
        session.close()


# --- bad input ------------------------------------------------------------------------------------

BAD_FILTERS = [
    one("nonexistent", "equal", "Number", 1),
    one("data.", "equal", "String", "x"),
    one("id", "between", "Number", 1),
    one("id", "equal", "Float", 1),
    one("id", "equal", "Number", "one"),
    one("id", "in", "Number", 5),
    one("id", "in", "Number", {"min": 1}),
    one("created_at", "greater", "Datetime", "yesterday"),
    one("created_at", "contains", "Datetime", "2024"),
    one("annotators", "equal", "List", 1),
    one("annotators", "contains", "List", "bob"),
    one("ground_truth", "greater", "Boolean", True),
    one("ground_truth", "equal", "Boolean", "maybe"),
    one("project__organization", "equal", "Number", 1),
    {"conjunction": "xor", "items": []},
    {"conjunction": "and", "items": "all"},
    {"conjunction": "and", "items": [{"filter": "tasks:id", "operator": "equal", "type": "Number", "value": 1}]},
    {"conjunction": "and", "items": [{"operator": "equal", "type": "Number", "value": 1}]},
    {"conjunction": "and", "items": [42]},
    "filters",
]


@pytest.mark.parametrize("filters", BAD_FILTERS)
def test_bad_filters_are_validation_errors(query, filters):
    with pytest.raises(ValidationError):
        query(filters)


@pytest.mark.parametrize("ordering", [["tasks:nonexistent"], ["tasks:project__title"], [42], "tasks:id"])
def test_bad_ordering_is_a_validation_error(query, ordering):
    with pytest.raises(ValidationError):
        query(None, ordering)


def test_invalid_regex_is_a_validation_error(add_tasks, query):
    """Deliberately not Label Studio's answer (no tasks): the pattern is refused with a reason."""
    add_tasks([{"t": "x"}])
    with pytest.raises(ValidationError):
        query(one("data.t", "regex", "String", "("))


# --- property-based: the SQL engine agrees with a plain-Python evaluation ----------------------------

MISSING = object()
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-20, max_value=20),
    st.sampled_from([0.5, 2.25, -1.5, 3.0, 12.0]),
    st.text(alphabet="ab1 2.-x", max_size=4),
    st.sampled_from(["12", "3.5", "-2", "1e2", " 7", "null", "true", ""]),
)
DATA_VALUES = st.one_of(st.just(MISSING), SCALARS)
TASK = st.fixed_dictionaries({"v": DATA_VALUES, "total": st.integers(min_value=0, max_value=3)})
TEXT_VALUES = st.one_of(st.text(alphabet="ab1 2.-x", max_size=3), st.sampled_from(["12", "null", "a", ""]))
NUMBER_VALUES = st.one_of(st.integers(min_value=-20, max_value=20), st.sampled_from([0.5, 2.25, 12.0]))


@st.composite
def filter_items(draw):
    kind = draw(st.sampled_from(["String", "Number", "Boolean", "counter"]))
    if kind == "counter":
        operator = draw(st.sampled_from(["equal", "not_equal", "less", "greater", "less_or_equal", "greater_or_equal", "in", "not_in", "empty"]))
        value = draw(st.booleans()) if operator == "empty" else draw(st.integers(min_value=0, max_value=3))
        if operator in ("in", "not_in"):
            low, high = sorted(draw(st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=2)))
            value = {"min": low, "max": high}
        return {"filter": "filter:tasks:total_annotations", "operator": operator, "type": "Number", "value": value}
    if kind == "Boolean":
        operator = draw(st.sampled_from(["equal", "not_equal", "empty", "in_list", "not_in_list"]))
        value = draw(st.lists(st.booleans(), max_size=2)) if operator.endswith("in_list") else draw(st.booleans())
        return {"filter": "filter:tasks:data.v", "operator": operator, "type": "Boolean", "value": value}
    operator = draw(st.sampled_from([
        "equal", "not_equal", "contains", "not_contains", "less", "greater", "less_or_equal", "greater_or_equal", "in", "not_in",
        "empty", "regex", "in_list", "not_in_list", "starts_with", "ends_with", "exists", "not_exists",
    ]))
    if operator in ("empty", "exists", "not_exists"):
        value = draw(st.booleans())
    elif operator == "regex":
        value = draw(st.sampled_from(["^1", "a$", "[0-9]", "^$", "x|2"]))
    elif operator in ("in", "not_in"):
        values = draw(st.lists(NUMBER_VALUES if kind == "Number" else TEXT_VALUES, min_size=2, max_size=2))
        low, high = sorted(values, key=(float if kind == "Number" else str))
        value = {"min": low, "max": high}
    elif operator in ("contains", "not_contains", "starts_with", "ends_with"):
        value = draw(TEXT_VALUES)
    elif operator in ("in_list", "not_in_list"):
        value = draw(st.lists(NUMBER_VALUES if kind == "Number" else st.one_of(TEXT_VALUES, NUMBER_VALUES), max_size=3))
    else:
        value = draw(NUMBER_VALUES if kind == "Number" else st.one_of(TEXT_VALUES, NUMBER_VALUES, st.booleans()))
    return {"filter": "filter:tasks:data.v", "operator": operator, "type": kind, "value": value}


def _text(value) -> str | None:
    """Label Studio's text of a data value (json_key_text)."""
    if value is MISSING:
        return None
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_equal(value, expected) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and value == expected
    if isinstance(expected, (int, float)):
        return isinstance(value, (int, float)) and value == expected
    return isinstance(value, str) and value == expected


def _compare(operator, x, value, convert):
    if x is None:
        return False
    if operator in ("in", "not_in"):
        inside = convert(value["min"]) <= x <= convert(value["max"])
        return inside if operator == "in" else not inside
    v = convert(value)
    return {"equal": x == v, "not_equal": x != v, "less": x < v, "greater": x > v, "less_or_equal": x <= v, "greater_or_equal": x >= v}[operator]


def _as_text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def evaluate(item: dict, task: dict) -> bool:
    """The filter semantics in plain Python, written from the documented rules, not the SQL."""
    operator, type_, value = item["operator"], item["type"], item["value"]
    if item["filter"].endswith("total_annotations"):
        if operator == "empty":
            return (task["total"] == 0) == value
        return _compare(operator, task["total"], value, float)
    v = task["v"]
    text = _text(v)
    if operator in ("exists", "not_exists"):
        return (v is not MISSING) == (operator == "exists")
    if operator in ("starts_with", "ends_with"):
        if text is None:
            return False
        test = str.startswith if operator == "starts_with" else str.endswith
        return test(text.lower(), _as_text(value).lower())
    if operator in ("in_list", "not_in_list"):
        if type_ == "Number":
            listed = numeric_prefix(text) in [float(x) for x in value]
            return text is not None and (listed if operator == "in_list" else not listed)
        listed = any(evaluate({**item, "operator": "equal", "value": x}, task) for x in value)
        return listed if operator == "in_list" else (v is not MISSING and not listed)
    if operator in ("contains", "not_contains"):
        if text is None:
            return False
        found = _as_text(value).lower() in text.lower()
        return found if operator == "contains" else not found
    if operator == "regex":
        return text is not None and re.search(value, text) is not None
    if operator == "empty":
        blank = v is MISSING or v is None or v == ""
        return blank == value
    if type_ == "Number":
        return _compare(operator, numeric_prefix(text), value, float)
    if operator in ("equal", "not_equal"):
        equal = _json_equal(v, value)
        if type_ == "Boolean":
            equal = equal or v == ("true" if value else "false")
        return equal if operator == "equal" else (v is not MISSING and not equal)
    return _compare(operator, text, value, _as_text)


@pytest.fixture
def random_project(app, actor, project_id):
    """A session and the project for the property tests; tasks are inserted and rolled back per example."""
    session = app.state.session_factory()
    yield session, session.get(Project, project_id)
    session.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tasks=st.lists(TASK, min_size=1, max_size=8), items=st.lists(filter_items(), min_size=1, max_size=3), conjunction=st.sampled_from(["and", "or"]))
def test_sql_engine_agrees_with_python(random_project, tasks, items, conjunction):
    session, project = random_project
    rows = [{"project_id": project.id, "data": ({} if t["v"] is MISSING else {"v": t["v"]}), "total_annotations": t["total"]} for t in tasks]
    try:
        session.execute(insert(Task), rows)
        ids = list(session.execute(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).scalars())
        filters = {"conjunction": conjunction, "items": items}
        got = list(session.execute(select(Task.id).where(Task.project_id == project.id, compile_filters(filters, project)).order_by(Task.id)).scalars())
        combine = any if conjunction == "or" else all
        expected = [task_id for task_id, task in zip(ids, tasks) if combine(evaluate(item, task) for item in items)]
        assert got == expected, filters
    finally:
        session.rollback()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(values=st.lists(DATA_VALUES, min_size=1, max_size=8), descending=st.booleans())
def test_data_ordering_agrees_with_python(random_project, values, descending):
    """Numbers first by value, then other values by their text (byte-wise), missing keys last."""
    session, project = random_project
    try:
        session.execute(insert(Task), [{"project_id": project.id, "data": ({} if v is MISSING else {"v": v})} for v in values])
        ids = list(session.execute(select(Task.id).where(Task.project_id == project.id).order_by(Task.id)).scalars())
        ordering = ["-tasks:data.v" if descending else "tasks:data.v"]
        got = list(session.execute(select(Task.id).where(Task.project_id == project.id).order_by(*compile_ordering(ordering, project))).scalars())

        def key(pair):
            task_id, v = pair
            if v is MISSING:
                return (2, 0, "", task_id)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                bucket = 1 if descending else 0
                return (bucket, -v if descending else v, "", task_id)
            text = _text(v).encode()
            bucket = 0 if descending else 1
            return (bucket, 0, _Reversed(text) if descending else text, task_id)

        expected = [task_id for task_id, _ in sorted(zip(ids, values), key=key)]
        assert got == expected
    finally:
        session.rollback()
        session.execute(delete(Task).where(Task.project_id == project.id))
        session.commit()


class _Reversed:
    """Sorts bytes in descending order inside an ascending sort key."""

    def __init__(self, value: bytes):
        self.value = value

    def __lt__(self, other: "_Reversed") -> bool:
        return self.value > other.value

    def __eq__(self, other) -> bool:
        return self.value == other.value
