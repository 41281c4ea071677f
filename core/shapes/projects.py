"""Project -> Label Studio JSON.

The body is Label Studio 1.23.2's ProjectSerializer; the spec's response schemas (LseProject*) also
require Enterprise keys (workspaces, reviews, members, ...), which get their community values:
no workspace, no review, no members. `members`, `prompts` and `workspace` are null, as label-studio-sdk's
models declare them (a list, a list, an id); the spec's "string" would make the SDK warn on every read.

Every project shape takes the project, its counters (core.projects.queries.project_counters), its
creator and whether its config suits bulk annotation
(core.projects.queries.config_suitable_for_bulk_annotation)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from core import label_config as lc
from core.projects.models import Project
from core.shapes.ml import ml_backend_json
from core.shapes.users import user_simple
from core.timeutil import isoformat
from core.users.models import User

if TYPE_CHECKING:
    from core.projects.model_versions import ProjectModelVersions


def project_state(counters: Mapping[str, int]) -> str:
    """Label Studio's project FSM states, derived from the counters."""
    tasks = counters.get("task_number") or 0
    if tasks and counters.get("finished_task_number") == tasks:
        return "COMPLETED"
    if counters.get("total_annotations_number") or counters.get("skipped_annotations_number"):
        return "IN_PROGRESS"
    return "CREATED"


def project_json(project: Project, counters: Mapping[str, int], created_by: User | None, bulk_annotatable: bool) -> dict:
    """Label Studio's ProjectSerializer fields, in its order."""
    config = project.label_config
    parsed = lc.parsed_label_config(config)
    return {
        "id": project.id,
        "title": project.title,
        "description": project.description,
        "label_config": config,
        "expert_instruction": project.expert_instruction,
        "show_instruction": project.show_instruction,
        "show_skip_button": project.show_skip_button,
        "enable_empty_annotation": project.enable_empty_annotation,
        "show_annotation_history": project.show_annotation_history,
        "organization": project.organization_id,
        "color": project.color,
        "maximum_annotations": project.maximum_annotations,
        "is_published": project.is_published,
        "model_version": project.model_version,
        "is_draft": project.is_draft,
        "created_by": user_simple(created_by) if created_by is not None else None,
        "created_at": isoformat(project.created_at),
        "min_annotations_to_start_training": project.min_annotations_to_start_training,
        "start_training_on_annotation_update": bool(project.min_annotations_to_start_training),
        "show_collab_predictions": project.show_collab_predictions,
        "num_tasks_with_annotations": counters.get("num_tasks_with_annotations", 0),
        "task_number": counters.get("task_number", 0),
        "useful_annotation_number": counters.get("useful_annotation_number", 0),
        "ground_truth_number": counters.get("ground_truth_number", 0),
        "skipped_annotations_number": counters.get("skipped_annotations_number", 0),
        "total_annotations_number": counters.get("total_annotations_number", 0),
        "total_predictions_number": counters.get("total_predictions_number", 0),
        "sampling": project.sampling,
        "show_ground_truth_first": project.show_ground_truth_first,
        "annotator_evaluation_enabled": project.annotator_evaluation_enabled,
        "show_overlap_first": project.show_overlap_first,
        "overlap_cohort_percentage": project.overlap_cohort_percentage,
        "task_data_login": project.task_data_login,
        "task_data_password": project.task_data_password,
        "control_weights": project.control_weights if project.control_weights is not None else {},
        "parsed_label_config": parsed,
        "evaluate_predictions_automatically": project.evaluate_predictions_automatically,
        "config_has_control_tags": bool(parsed),
        "skip_queue": project.skip_queue,
        "reveal_preannotations_interactively": project.reveal_preannotations_interactively,
        "pinned_at": isoformat(project.pinned_at),
        "finished_task_number": counters.get("finished_task_number", 0),
        "queue_total": counters.get("queue_total", 0),
        "queue_done": counters.get("queue_done", 0),
        "config_suitable_for_bulk_annotation": bulk_annotatable,
        "state": project_state(counters),
    }


def _enterprise_defaults(project: Project, counters: Mapping[str, int]) -> dict:
    queue_total = counters.get("queue_total", 0)
    return {
        "allow_stream": bool(lc.parsed_label_config(project.label_config)) and bool(counters.get("task_number")),
        "assignment_settings": {"id": project.id, "label_stream_task_distribution": "auto_distribution", "project": project.id},
        "review_settings": {"id": project.id, "project": project.id, "requeue_rejected_tasks_to_annotator": False},
        "data_types": lc.data_types(project.label_config),
        "is_dimensions_enabled": "false",
        "members": None,
        "members_count": 0,
        "prompts": None,
        "queue_left": max(queue_total - counters.get("queue_done", 0), 0),
        "ready": bool(lc.parsed_label_config(project.label_config)),
        "rejected": 0,
        "review_total_tasks": 0,
        "reviewed_number": 0,
        "reviewer_queue_total": 0,
        "workspace": None,
        "workspace_title": "",
    }


def project_detail(project: Project, counters: Mapping[str, int], created_by: User | None, bulk_annotatable: bool) -> dict:
    """GET /api/projects/{id}/ (LseProjectResponse)."""
    return {**project_json(project, counters, created_by, bulk_annotatable), **_enterprise_defaults(project, counters)}


def project_list_item(project: Project, counters: Mapping[str, int], created_by: User | None, bulk_annotatable: bool) -> dict:
    """An item of GET /api/projects/: the detail (with the data source credentials, as Label Studio
    1.23.2 lists them, although the spec's AllRolesProjectList leaves them out) and list extras."""
    body = project_detail(project, counters, created_by, bulk_annotatable)
    body["blueprints"] = []
    body["description_short"] = _short(project.description)
    return body


def project_created(project: Project, counters: Mapping[str, int], created_by: User | None, bulk_annotatable: bool) -> dict:
    """POST /api/projects/ (LseProjectCreate)."""
    return project_json(project, counters, created_by, bulk_annotatable)


def project_updated(project: Project, counters: Mapping[str, int], created_by: User | None, bulk_annotatable: bool) -> dict:
    """PATCH /api/projects/{id}/ (LseProjectUpdate: the workspace is an id there; community has none)."""
    body = project_detail(project, counters, created_by, bulk_annotatable)
    for key in ("allow_stream", "data_types", "is_dimensions_enabled", "members", "members_count", "queue_left",
                "ready", "rejected", "review_total_tasks", "reviewed_number", "reviewer_queue_total"):
        del body[key]
    body["workspace"] = 0
    return body


def project_counts(project_id: int, counters: Mapping[str, int]) -> dict:
    """An item of GET /api/projects/counts/ (LseProjectCounts): the counters computed, in Label
    Studio's order (as project_counters returns them), then the queue."""
    body = {"id": project_id, **counters}
    queue_total = counters.get("queue_total", 0)
    body.update(
        queue_total=queue_total,
        queue_done=counters.get("queue_done", 0),
        queue_left=max(queue_total - counters.get("queue_done", 0), 0),
        rejected=0,
        review_total_tasks=0,
        reviewed_number=0,
    )
    return body


def sparse(body: dict, include: Iterable[str] | None, omit: Iterable[str] | None) -> dict:
    """Label Studio's flex-fields query parameters: `include` keeps only the named keys, `omit` drops some."""
    if include:
        wanted = set(include)
        body = {key: value for key, value in body.items() if key in wanted}
    if omit:
        dropped = set(omit)
        body = {key: value for key, value in body.items() if key not in dropped}
    return body


def _short(description: str | None, limit: int = 200) -> str:
    text = description or ""
    return text if len(text) <= limit else text[:limit] + "..."


def model_versions(result: "ProjectModelVersions") -> dict:
    """GET /api/projects/{id}/model-versions/: `{version: predictions}`, or with `extended`
    `{"static": [{model_version, count, latest}], "live": ML backends or null}`."""
    if not result.extended:
        return {v.model_version: v.count for v in result.versions}
    return {
        "static": [{"model_version": v.model_version, "count": v.count, "latest": isoformat(v.latest)} for v in result.versions],
        "live": [ml_backend_json(backend) for backend in result.live_models] if result.live_models is not None else None,
    }
