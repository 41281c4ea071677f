"""The registry of Data Manager actions (what GET lists and POST runs) and running one over a
selection, in the request or as a "dm_action" job."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import orjson
from sqlalchemy.orm import Session

from core.auth import policy
from core.auth.policy import can, require, use_case
from core.context import Context
from core.data_manager.actions.annotations import (
    _model_version_param,
    _model_versions_form,
    _predictions_to_annotations,
    _propagate_annotations,
    _propagate_form,
    _respond_created_annotations,
    _source_annotation_param,
)
from core.data_manager.actions.common import ActionRun, _respond_nothing
from core.data_manager.actions.deletion import (
    _annotator_param,
    _annotators_form,
    _delete_annotations,
    _delete_predictions,
    _delete_tasks,
    _respond_delete_tasks,
    _respond_deleted_annotations,
    _respond_deleted_predictions,
)
from core.data_manager.actions.duplicates import _remove_duplicates
from core.data_manager.actions.labels import (
    _cache_labels,
    _cache_labels_form,
    _cache_labels_params,
    _rename_labels,
    _rename_labels_form,
    _rename_labels_params,
    _respond_renamed,
)
from core.data_manager.actions.retrieve_predictions import _respond_retrieved, _retrieve_predictions
from core.data_manager.actions.task_data import (
    ADD_DATA_FIELD_EXAMPLES,
    _add_data_field,
    _add_data_field_form,
    _add_data_field_params,
    _respond_updated_tasks,
)
from core.data_manager.selection import task_selection
from core.data_manager.views import get_view
from core.errors import DomainError, NotFound, ValidationError
from core.events import record
from core.events.catalog import (
    ACTION_PERFORMED,
    ANNOTATIONS_CREATED,
    ANNOTATIONS_DELETED,
    ANNOTATIONS_UPDATED,
    PREDICTIONS_CREATED,
    PREDICTIONS_DELETED,
    TASKS_DELETED,
    TASKS_UPDATED,
    VIEWS_DELETED,
)
from core.jobs.service import start_job
from core.projects.models import Project
from core.tasks.queries import get_org_project

JOB_KIND = "dm_action"


class ActionIdMissing(DomainError):
    """Label Studio answers a POST without ?id= with 422."""

    status_code = 422


Work = Callable[[ActionRun, list[int]], Counter]
Respond = Callable[[ActionRun, Counter], dict]


@dataclass(frozen=True)
class Action:
    id: str
    title: str
    order: int
    # Label Studio's permission string(s), as GET /api/dm/actions/ lists them.
    permission: str | list[str]
    # The catalog permissions the caller needs to run it (checked by perform_action).
    requires: tuple[str, ...]
    dialog: dict[str, Any]
    work: Work
    respond: Respond
    # Reads and checks the action's own body fields (may look at the project) before any write.
    read_params: Callable[[dict, Session, Project], dict] = lambda body, session, project: {}
    # Listed keys Label Studio shows only for some actions.
    experimental: bool | None = None
    reload: bool | None = None
    # Builds the dialog's form fields on demand (GET /api/dm/actions/{id}/form/).
    form: Callable[[Session, Project], list] | None = None
    # Its response counts `processed_items` (a queued job reports 0 of them so far).
    reports_processed_items: bool = False
    # False when the action must see the whole selection at once (duplicates across batches).
    batchable: bool = True
    # Label Studio keeps the selection's ordering only for these (the order decides what is kept).
    uses_ordering: bool = False

    def listing(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "title": self.title, "order": self.order, "permission": self.permission}
        if self.experimental is not None:
            item["experimental"] = self.experimental
        if self.reload is not None:
            item["reload"] = self.reload
        item["dialog"] = dict(self.dialog)
        return item


# ---------------------------------------------------------------- registry

_CONFIRM = "confirm"

ACTIONS: dict[str, Action] = {
    action.id: action
    for action in (
        Action(
            id="add_data_field",
            form=_add_data_field_form,
            title="Add Or Modify Data Field",
            order=1,
            permission="projects.change",
            requires=(policy.TASKS_CHANGE,),
            experimental=True,
            dialog={
                "text": "Confirm that you want to add a new field in tasks. "
                "After this operation you must refresh the Data Manager page fully to see the new column! "
                "You can use the following expressions: " + ADD_DATA_FIELD_EXAMPLES,
                "type": _CONFIRM,
                "form": None,
            },
            work=_add_data_field,
            respond=_respond_updated_tasks,
            read_params=_add_data_field_params,
            batchable=False,
        ),
        Action(
            id="propagate_annotations",
            form=_propagate_form,
            title="Propagate Annotations",
            order=1,
            permission="tasks.change",
            requires=(policy.ANNOTATIONS_CREATE,),
            experimental=True,
            dialog={
                "text": "Confirm that you want to copy the source annotation to all selected tasks. "
                "Note: this action can be applied only for similar source objects: "
                "images with the same width and height, "
                "texts with the same length, "
                "audios with the same durations.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_propagate_annotations,
            respond=_respond_created_annotations,
            read_params=_source_annotation_param,
        ),
        Action(
            id="rename_labels",
            form=_rename_labels_form,
            title="Rename Labels",
            order=1,
            permission="tasks.change",
            requires=(policy.ANNOTATIONS_CHANGE,),
            experimental=True,
            dialog={
                "text": "Confirm that you want to rename a label in all annotations. "
                "Also you have to change label names in the labeling config manually.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_rename_labels,
            respond=_respond_renamed,
            read_params=_rename_labels_params,
            batchable=False,
        ),
        Action(
            id="cache_labels",
            form=_cache_labels_form,
            title="Cache Labels",
            order=1,
            permission="projects.change",
            requires=(policy.TASKS_CHANGE,),
            experimental=True,
            dialog={
                "text": "Confirm that you want to add a new task.data field with cached labels from annotations. "
                "This field will help you to quickly filter or order tasks by labels. "
                "After this operation you must refresh the Data Manager page fully to see the new column!",
                "type": _CONFIRM,
                "form": None,
            },
            work=_cache_labels,
            respond=_respond_nothing,
            read_params=_cache_labels_params,
        ),
        Action(
            id="retrieve_tasks_predictions",
            title="Retrieve Predictions",
            order=90,
            permission="predictions.any",
            requires=(policy.PREDICTIONS_CHANGE, policy.MODELS_PREDICT),
            dialog={
                "title": "Retrieve Predictions",
                "text": "Send the selected tasks to all ML backends connected to the project."
                "This operation might be abruptly interrupted due to a timeout. "
                "The recommended way to get predictions is to update tasks using the Label Studio API."
                "Please confirm your action.",
                "type": _CONFIRM,
            },
            work=_retrieve_predictions,
            respond=_respond_retrieved,
            reports_processed_items=True,
        ),
        Action(
            id="predictions_to_annotations",
            form=_model_versions_form,
            title="Create Annotations From Predictions",
            order=91,
            permission="tasks.change",
            requires=(policy.ANNOTATIONS_CREATE, policy.PREDICTIONS_VIEW),
            dialog={
                "title": "Create Annotations From Predictions",
                "text": "Create annotations from predictions using selected predictions set for each selected task. "
                "Your account will be assigned as an owner to those annotations. ",
                "type": _CONFIRM,
                "form": None,
            },
            work=_predictions_to_annotations,
            respond=_respond_created_annotations,
            read_params=_model_version_param,
        ),
        Action(
            id="remove_duplicates",
            title="Remove Duplicated Tasks",
            order=95,
            permission=["projects.change", "tasks.delete"],
            requires=(policy.TASKS_DELETE,),
            experimental=False,
            dialog={
                "text": "Confirm that you want to remove duplicated tasks with the same data fields. "
                "Duplicated tasks will be deleted and all annotations will be moved to the first task from duplicated tasks. "
                "Also Source Storage Links will be restored if at least one duplicated task has a storage link. "
                "Warning: Task assignments (enterprise only) won't be saved.",
                "type": _CONFIRM,
            },
            work=_remove_duplicates,
            respond=_respond_nothing,
            batchable=False,
            uses_ordering=True,
        ),
        Action(
            id="delete_tasks",
            title="Delete Tasks",
            order=100,
            permission="tasks.delete",
            requires=(policy.TASKS_DELETE,),
            reload=True,
            dialog={"text": "You are going to delete the selected tasks. Please confirm your action.", "type": _CONFIRM},
            work=_delete_tasks,
            respond=_respond_delete_tasks,
            reports_processed_items=True,
        ),
        Action(
            id="delete_tasks_annotations",
            form=_annotators_form,
            title="Delete Annotations",
            order=101,
            permission=["tasks.change", "annotations.delete"],
            requires=(policy.ANNOTATIONS_DELETE,),
            dialog={
                "text": "You are going to delete annotations from the selected tasks.\n"
                "You can select specific annotators to delete annotations for.\n"
                "Please confirm your action.",
                "type": _CONFIRM,
                "form": None,
            },
            work=_delete_annotations,
            respond=_respond_deleted_annotations,
            reports_processed_items=True,
            read_params=_annotator_param,
        ),
        Action(
            id="delete_tasks_predictions",
            title="Delete Predictions",
            order=102,
            permission="predictions.any",
            requires=(policy.PREDICTIONS_CHANGE,),
            dialog={
                "text": "You are going to delete all predictions from the selected tasks. Please confirm your action.",
                "type": _CONFIRM,
            },
            work=_delete_predictions,
            respond=_respond_deleted_predictions,
            reports_processed_items=True,
        ),
    )
}


@use_case(policy.PROJECTS_VIEW)
def list_actions(ctx: Context, project_id: Any) -> list[dict]:
    """GET /api/dm/actions/?project=: the actions the caller may run, by order (experimental
    ones, which Label Studio hides unless experimental features are on, are left out)."""
    project = _project(ctx, project_id)
    return [action.listing() for action in sorted(ACTIONS.values(), key=lambda a: a.order)
            if not action.experimental and _may_run(ctx, action, project)]


def _may_run(ctx: Context, action: Action, project: Project) -> bool:
    return all(can(ctx, permission, project) for permission in (policy.ACTIONS_PERFORM, *action.requires))


@use_case(policy.PROJECTS_VIEW)
def action_form(ctx: Context, action_id: str, project_id: Any) -> list:
    """GET /api/dm/actions/{id}/form/?project=: the dialog's form fields ([] for a plain confirm)."""
    project = _project(ctx, project_id)
    action = ACTIONS.get(action_id)
    if action is None:
        raise NotFound(f"Can't find '{action_id}' in registered actions")
    return action.form(ctx.session, project) if action.form is not None else []


def _project(ctx: Context, raw: Any) -> Project:
    try:
        project_id = int(raw)
    except (TypeError, ValueError):
        raise NotFound()
    return get_org_project(ctx, project_id)


# ---------------------------------------------------------------- perform


@dataclass
class ActionOutcome:
    """Label Studio's response; `job_id` when the action was handed to the workers."""

    response: dict[str, Any]
    job_id: int | None = None


def _selected_items(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = None
        if not isinstance(raw, dict):
            raise ValidationError({"selectedItems": [
                'selectedItems must be JSON encoded string for dict: {"all": [true|false], "excluded | included": [...task_ids...]}.'
            ]})
    if not isinstance(raw, dict):
        raise ValidationError({"selectedItems": [
            'selectedItems must be dict: {"all": [true|false], "excluded | included": [...task_ids...]}.'
        ]})
    return raw


def _selection_params(ctx: Context, project: Project, body: dict, view_id: Any) -> tuple[Any, Any, Any]:
    """(filters, ordering, selectedItems) from the view when one is named (it wins over the
    body, as in Label Studio), else from the body."""
    if view_id not in (None, "", 0, "0"):
        try:
            view = get_view(ctx, int(view_id))
        except (TypeError, ValueError):
            raise NotFound()
        if view.project_id != project.id:
            raise ValidationError({"view": ["Project and View mismatch"]}, detail="Project and View mismatch")
        return view.filters, view.ordering or [], view.selected_items
    selected = _selected_items(body.get("selectedItems", {"all": True, "excluded": []}))
    ordering = body.get("ordering") or []
    return body.get("filters"), ordering, selected


@use_case(policy.ACTIONS_PERFORM, emits=(
    ACTION_PERFORMED, TASKS_DELETED, TASKS_UPDATED, ANNOTATIONS_CREATED, ANNOTATIONS_UPDATED, ANNOTATIONS_DELETED,
    PREDICTIONS_CREATED, PREDICTIONS_DELETED, VIEWS_DELETED,
))
def perform_action(ctx: Context, action_id: str | None, project_id: Any, body: Any, view_id: Any = None) -> ActionOutcome:
    """POST /api/dm/actions/?id=&project=[&view=]. Everything is validated before the first
    write; a selection above the job threshold becomes a "dm_action" job."""
    user = ctx.require_user()
    project = _project(ctx, project_id)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(body).__name__}."]})
    if action_id in (None, ""):
        raise ActionIdMissing(f'No action id "{action_id}", use ?id=<action-id>')
    action = ACTIONS.get(action_id)
    if action is None:
        raise ValidationError({"id": [f"Can't find '{action_id}' in registered actions"]}, detail=f"Can't find '{action_id}' in registered actions")
    for permission in action.requires:
        require(ctx, permission, project=project)
    params = action.read_params(body, ctx.session, project)
    if view_id in (None, ""):
        view_id = body.get("view")
    filters, ordering, selected = _selection_params(ctx, project, body, view_id)
    if not action.uses_ordering:
        ordering = []
    selection = task_selection(ctx.session, project, filters, ordering, selected)
    threshold = ctx.settings.dm_action_job_threshold
    ids = list(ctx.session.scalars(selection.limit(threshold + 1)))
    if len(ids) > threshold:
        job = start_job(
            ctx,
            JOB_KIND,
            {"action": action.id, "params": params, "filters": filters, "ordering": ordering, "selectedItems": selected},
            project_id=project.id,
        )
        # The job records the events of what it changes, batch by batch.
        record(ctx, ACTION_PERFORMED, project_id=project.id, data={"action": action.id, "job": job.id})
        return ActionOutcome(queued_response(action, job.id), job_id=job.id)
    run = ActionRun(ctx.session, project, user.id, params, ctx.settings)
    response = action.respond(run, action.work(run, ids))
    # The objects changed are in the action's own events, recorded by its work.
    record(ctx, ACTION_PERFORMED, project_id=project.id, data={"action": action.id})
    return ActionOutcome(response)


def queued_response(action: Action, job_id: int) -> dict[str, Any]:
    """Label Studio's keys for an action handed to the workers (nothing processed yet) plus the
    job, whose result will hold the response the action would have given in the request."""
    response: dict[str, Any] = {}
    if action.reports_processed_items:
        response["processed_items"] = 0
    if action.reload:
        response["reload"] = True
    response["detail"] = f"{action.title}: running in the background as job {job_id}"
    response["job"] = job_id
    return response
