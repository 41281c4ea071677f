"""Project use cases: create, update, delete, validate a labeling config."""
from __future__ import annotations

from html import escape as html_escape
from typing import Any

from sqlalchemy import delete, exists, func, select, update

from core import label_config as lc
from core.annotations.models import Annotation
from core.auth import policy
from core.auth.policy import use_case
from core.context import Context
from core.errors import ValidationError
from core.events import record
from core.events.catalog import PROJECT_CREATED, PROJECT_DELETED, PROJECT_UPDATED
from core.predictions.models import Prediction
from core.projects.models import Project
from core.projects.queries import HAS_RESULT, get_project
from core.tasks.counters import refresh_task_counters
from core.tasks.models import ProjectImport, Task
from core.timeutil import utcnow
from core.validation import Input

DEFAULT_LABEL_CONFIG = "<View></View>"
TITLE_MIN_LENGTH = 3
TITLE_MAX_LENGTH = 50
SAMPLING_CHOICES = ("Sequential sampling", "Uniform sampling", "Uncertainty sampling")
SKIP_QUEUE_CHOICES = ("REQUEUE_FOR_ME", "REQUEUE_FOR_OTHERS", "IGNORE_SKIPPED")
# Control tags that take no part in agreement, so they get no weight (Label Studio's get_updated_weights).
_UNWEIGHTED_CONTROLS = ("Filter",)

_BOOLEAN_FIELDS = (
    "show_instruction",
    "show_skip_button",
    "enable_empty_annotation",
    "show_annotation_history",
    "is_published",
    "is_draft",
    "show_collab_predictions",
    "show_ground_truth_first",
    "annotator_evaluation_enabled",
    "show_overlap_first",
    "evaluate_predictions_automatically",
    "reveal_preannotations_interactively",
)
_INTEGER_FIELDS = ("maximum_annotations", "min_annotations_to_start_training", "overlap_cohort_percentage")
_TEXT_FIELDS = ("description", "expert_instruction", "model_version")


def _read_project_fields(body: Any, *, partial: bool) -> dict[str, Any]:
    """Validate the writable fields of Label Studio's ProjectSerializer; unknown keys are ignored."""
    data = Input(body, partial=partial)
    values: dict[str, Any] = {}

    def keep(name: str, value: Any) -> None:
        if data.has(name) and name not in data.errors:
            values[name] = value

    title = data.string("title", max_length=TITLE_MAX_LENGTH)
    if title and len(title) < TITLE_MIN_LENGTH:
        data.error("title", f"Ensure this field has at least {TITLE_MIN_LENGTH} characters.")
    keep("title", title)
    for name in _TEXT_FIELDS:
        keep(name, data.string(name))
    for name in _BOOLEAN_FIELDS:
        keep(name, data.boolean(name))
    for name in _INTEGER_FIELDS:
        keep(name, data.integer(name, min_value=-2147483648, max_value=2147483647))
    if data.has("start_training_on_annotation_update"):
        # Label Studio stores this flag as min_annotations_to_start_training = int(flag).
        flag = data.boolean("start_training_on_annotation_update")
        if "start_training_on_annotation_update" not in data.errors:
            values["min_annotations_to_start_training"] = int(flag)
    color = data.string("color", max_length=16)
    if color is not None and "color" not in data.errors and not _is_hex_color(color):
        data.error("color", 'Color must be in "#RRGGBB" format')
    keep("color", color)
    for name, choices in (("sampling", SAMPLING_CHOICES), ("skip_queue", SKIP_QUEUE_CHOICES)):
        choice = data.string(name)
        if choice is not None and choice not in choices:
            data.error(name, f'"{choice}" is not a valid choice.')
        keep(name, choice)
    for name in ("task_data_login", "task_data_password"):
        keep(name, data.string(name, max_length=256))
    keep("control_weights", data.dict_("control_weights"))
    keep("pinned_at", data.datetime_("pinned_at"))
    config = data.string("label_config", allow_null=False)
    if config is not None and "label_config" not in data.errors:
        try:
            lc.validate_label_config(config)
        except ValidationError as exc:
            for message in exc.errors.get("label_config", []):
                data.error("label_config", message)
    keep("label_config", config)
    data.done()
    if "expert_instruction" in values and values["expert_instruction"]:
        values["expert_instruction"] = sanitize_html(values["expert_instruction"])
    return values


def _is_hex_color(value: str) -> bool:
    if len(value) != 7 or not value.startswith("#"):
        return False
    try:
        int(value[1:], 16)
    except ValueError:
        return False
    return True


def sanitize_html(html: str) -> str:
    """Instructions are rendered as HTML by the labeling UI: drop scripts, event handlers and
    javascript: URLs (Label Studio runs bleach for the same reason)."""
    from lxml import etree, html as lxml_html

    try:
        fragment = lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return html
    for element in list(fragment.iter()):
        if not isinstance(element.tag, str):
            continue
        if element.tag.lower() in ("script", "style", "iframe", "object", "embed", "link", "meta", "base", "form"):
            element.drop_tree()
            continue
        for attribute in list(element.attrib):
            value = element.attrib[attribute].strip().lower()
            if attribute.lower().startswith("on") or value.startswith(("javascript:", "vbscript:", "data:text/html")):
                del element.attrib[attribute]
    # The leading text comes back unescaped from the parser: escape it again, or "&lt;script&gt;" would
    # turn into a live tag.
    text = html_escape(fragment.text or "", quote=False)
    return text + "".join(lxml_html.tostring(child, encoding="unicode") for child in fragment)


def updated_control_weights(config: str | None, current: dict | None) -> dict:
    """Weights for every control of `config`, keeping weights already set (Label Studio's get_updated_weights)."""
    current = current if isinstance(current, dict) else {}
    weights = {}
    for name, info in lc.parsed_label_config(config).items():
        if info["type"] in _UNWEIGHTED_CONTROLS:
            continue
        known = current.get(name) if isinstance(current.get(name), dict) else {}
        known_labels = known.get("labels") if isinstance(known.get("labels"), dict) else {}
        overall = known.get("overall")
        weights[name] = {
            "overall": overall if overall is not None else 1.0,
            "type": info["type"],
            "labels": {
                label: known_labels[label] if known_labels.get(label) is not None else 1.0
                for label in info.get("labels", [])
            },
        }
    return weights


@use_case(policy.PROJECTS_CREATE, emits=(PROJECT_CREATED,))
def create_project(ctx: Context, body: Any) -> Project:
    user = ctx.require_user()
    org_id = ctx.org_id
    values = _read_project_fields(body, partial=False)
    values.setdefault("title", "")
    values.setdefault("description", "")
    values.setdefault("expert_instruction", "")
    if not values.get("label_config"):
        values["label_config"] = DEFAULT_LABEL_CONFIG
    if values.get("is_published") and values.get("is_draft"):
        values["is_draft"] = False
    values["control_weights"] = updated_control_weights(values["label_config"], values.get("control_weights"))
    project = Project(organization_id=org_id, created_by_id=user.id, **values)
    ctx.session.add(project)
    ctx.session.flush()
    record(ctx, PROJECT_CREATED, project_id=project.id, ids=[project.id])
    return project


@use_case(policy.PROJECTS_CHANGE, emits=(PROJECT_UPDATED,))
def update_project(ctx: Context, project_id: int, body: Any) -> Project:
    project = get_project(ctx, project_id)
    values = _read_project_fields(body, partial=True)
    session = ctx.session
    new_config = values.get("label_config")
    config_changed = "label_config" in values and (new_config or "") != (project.label_config or "")
    if config_changed and new_config:
        check_config_fits_annotations(ctx, project, new_config, strict_labels=False)
    if "model_version" in values:
        _check_model_version(ctx, project, values["model_version"])
    if values.get("show_collab_predictions") is False:
        values["model_version"] = ""
    old_maximum, old_cohort, old_skip_queue = project.maximum_annotations, project.overlap_cohort_percentage, project.skip_queue
    for name, value in values.items():
        setattr(project, name, value)
    if project.is_published and project.is_draft:
        project.is_draft = False
    if project.label_config and (config_changed or not project.control_weights):
        project.control_weights = updated_control_weights(project.label_config, project.control_weights)
    project.updated_at = utcnow()
    session.flush()
    _update_task_overlap(
        ctx,
        project,
        maximum_changed=old_maximum != project.maximum_annotations,
        cohort_changed=old_cohort != project.overlap_cohort_percentage,
    )
    if old_skip_queue != project.skip_queue:
        # IGNORE_SKIPPED counts skips toward completion, so is_labeled may flip.
        _refresh_tasks(ctx, project, Task.total_annotations + Task.cancelled_annotations > 0)
    record(ctx, PROJECT_UPDATED, project_id=project.id, ids=[project.id])
    return project


def _check_model_version(ctx: Context, project: Project, model_version: str | None) -> None:
    if not model_version or model_version == project.model_version:
        return
    found = ctx.session.scalar(
        select(exists().where(Prediction.project_id == project.id, Prediction.model_version == model_version))
    )
    if not found:
        raise ValidationError.field(
            "model_version", "Model version doesn't exist either as live model or as static predictions."
        )


@use_case(policy.PROJECTS_VIEW)
def check_config_fits_annotations(ctx: Context, project: Project, config: str, *, strict_labels: bool) -> None:
    """Refuse a config that existing annotations no longer fit (removed controls; removed labels when strict)."""
    results = ctx.session.scalars(
        select(Annotation.result).where(Annotation.project_id == project.id, Annotation.result.is_not(None))
    ).all()
    flat = [item for result in results if isinstance(result, list) for item in result]
    if not flat:
        return
    lc.check_annotations_compatible(
        config,
        lc.labels_used_in_results(flat),
        used_controls=lc.controls_used_in_results(flat),
        strict_labels=strict_labels,
    )


@use_case(policy.PROJECTS_VIEW)
def validate_project_config(ctx: Context, project_id: int, body: Any) -> tuple[str, bool]:
    """/api/projects/{id}/validate/: the config must be valid and fit existing annotations, labels included.
    Returns (config, whether it changes controls or labels in a way that breaks saved views)."""
    project = get_project(ctx, project_id)
    data = Input(body)
    config = data.string("label_config")
    data.done()
    if not config:
        raise ValidationError("Label config is not set or is empty")
    try:
        lc.validate_label_config(config)
        check_config_fits_annotations(ctx, project, config, strict_labels=True)
    except ValidationError as exc:
        # Label Studio raises these outside a serializer field, so they are non-field errors here.
        raise ValidationError({"non_field_errors": exc.errors.get("label_config", [])}) from None
    return config, lc.config_essential_data_has_changed(config, project.label_config or "")


@use_case(policy.PROJECTS_DELETE, emits=(PROJECT_DELETED,))
def delete_project(ctx: Context, project_id: int) -> None:
    """Deletes the project with its tasks, annotations and predictions: one bulk DELETE per table."""
    project = get_project(ctx, project_id)
    session = ctx.session
    session.flush()
    for model in (Annotation, Prediction, Task, ProjectImport):
        session.execute(delete(model).where(model.project_id == project.id), execution_options={"synchronize_session": False})
    session.execute(delete(Project).where(Project.id == project.id), execution_options={"synchronize_session": False})
    session.expunge(project)
    record(ctx, PROJECT_DELETED, project_id=project.id, ids=[project.id], data={"title": project.title})


def _refresh_tasks(ctx: Context, project: Project, *conditions) -> None:
    task_ids = ctx.session.scalars(select(Task.id).where(Task.project_id == project.id, *conditions)).all()
    refresh_task_counters(ctx.session, task_ids)


def _set_overlap(ctx: Context, task_ids, overlap: int) -> None:
    ids = list(task_ids)
    for start in range(0, len(ids), 5000):
        ctx.session.execute(
            update(Task).where(Task.id.in_(ids[start:start + 5000])).values(overlap=overlap, updated_at=Task.updated_at),
            execution_options={"synchronize_session": False},
        )


def _update_task_overlap(ctx: Context, project: Project, *, maximum_changed: bool, cohort_changed: bool) -> None:
    """Label Studio's Project._update_tasks_states: settle tasks' overlap after maximum_annotations or
    overlap_cohort_percentage changed, then recompute is_labeled of the tasks touched."""
    session = ctx.session
    maximum = project.maximum_annotations
    in_project = Task.project_id == project.id
    if maximum_changed and not cohort_changed:
        overlapped = [in_project, Task.overlap > 1] if maximum > 1 else [in_project]
        if session.scalar(select(exists().where(*overlapped))):
            _bulk_overlap(ctx, overlapped, maximum)
            _refresh_tasks(ctx, project, *overlapped[1:], Task.overlap == maximum)
        elif project.overlap_cohort_percentage < 100:
            _rearrange_overlap_cohort(ctx, project)
        else:
            _bulk_overlap(ctx, [in_project], maximum)
            _refresh_tasks(ctx, project)
    elif cohort_changed:
        if maximum == 1:
            if maximum_changed:
                _bulk_overlap(ctx, [in_project], 1)
                _refresh_tasks(ctx, project)
        else:
            _rearrange_overlap_cohort(ctx, project)


def _bulk_overlap(ctx: Context, conditions: list, overlap: int) -> None:
    ctx.session.execute(
        update(Task).where(*conditions).values(overlap=overlap, updated_at=Task.updated_at),
        execution_options={"synchronize_session": False},
    )


def _rearrange_overlap_cohort(ctx: Context, project: Project) -> None:
    """Give `maximum_annotations` overlap to overlap_cohort_percentage of the tasks, preferring tasks
    already fully annotated, then those with the most annotations; the rest get overlap 1."""
    session = ctx.session
    maximum = project.maximum_annotations
    finished = (
        select(func.count(Annotation.id))
        .where(
            Annotation.task_id == Task.id,
            Annotation.was_cancelled.is_(False),
            HAS_RESULT,
            Annotation.ground_truth.is_(False),
        )
        .scalar_subquery()
    )
    rows = session.execute(
        select(Task.id, finished, Task.total_annotations + Task.cancelled_annotations)
        .where(Task.project_id == project.id)
        .order_by(Task.id)
    ).all()
    must = int(len(rows) * project.overlap_cohort_percentage / 100 + 0.5)
    complete = [task_id for task_id, done, _ in rows if done >= maximum]
    others = sorted(((task_id, count) for task_id, done, count in rows if done < maximum), key=lambda row: -row[1])
    left = max(must - len(complete), 0)
    cohort = complete + [task_id for task_id, _ in others[:left]]
    rest = [task_id for task_id, _ in others[left:]]
    _set_overlap(ctx, cohort, maximum)
    _set_overlap(ctx, rest, 1)
    refresh_task_counters(session, [task_id for task_id, _, _ in rows])
