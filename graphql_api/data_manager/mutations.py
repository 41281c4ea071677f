from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.context import Context
from core.data_manager import actions, views
from core.errors import ValidationError
from graphql_api.data_manager.inputs import TaskFilterInput, TaskOrderInput, filters_dict, ordering_terms
from graphql_api.data_manager.types import ViewNode
from graphql_api.jobs.types import JobNode, job_field
from graphql_api.relay import pk_of
from graphql_api.use_case import DeletePayload, deleted, pk_or_not_found, result_union, run_use_case


@strawberry.type
class ViewPayload:
    view: ViewNode


@strawberry.input(description="A tab's settings; omitted fields keep their value on update.")
class ViewInput:
    title: str | None = strawberry.UNSET
    filter: TaskFilterInput | None = strawberry.UNSET
    order_by: list[TaskOrderInput] | None = strawberry.UNSET
    hidden_columns: JSON | None = strawberry.UNSET
    data: JSON | None = strawberry.field(default=strawberry.UNSET, description="Other keys the frontend stores (columnsWidth, ...); merged into the tab's data.")


def _view_data(input: ViewInput, current: dict[str, Any]) -> dict[str, Any]:
    """The `data` body REST clients send: the tab's keys with filters and ordering inside."""
    data = dict(current)
    if input.data not in (strawberry.UNSET, None):
        if not isinstance(input.data, dict):
            raise ValidationError({"data": ["data must be an object."]})
        data.update(input.data)
    if input.title is not strawberry.UNSET:
        data["title"] = input.title
    if input.hidden_columns is not strawberry.UNSET:
        data["hiddenColumns"] = input.hidden_columns
    if input.filter not in (strawberry.UNSET, None):
        data["filters"] = filters_dict(input.filter)
    if input.order_by is not strawberry.UNSET:
        data["ordering"] = ordering_terms(input.order_by)
    return data


def _create_view(ctx: Context, project_id: strawberry.ID, input: ViewInput):
    return views.create_view(ctx, {"project": pk_or_not_found(project_id, "Project"), "data": _view_data(input, {})})


def _update_view(ctx: Context, id: strawberry.ID, input: ViewInput):
    view = views.get_view(ctx, pk_or_not_found(id, "View"))
    # The REST update replaces `data`; GraphQL input fields are partial, so merge into the current one.
    return views.update_view(ctx, view.id, {"data": _view_data(input, view.data or {})})


def _view_payload(view) -> ViewPayload:
    return ViewPayload(view=ViewNode.from_model(view))


@strawberry.input(description='Which tasks: all (but `excluded`) or only `included` (Label Studio\'s selectedItems), by Task ids.')
class SelectionInput:
    all: bool
    included: list[strawberry.ID] | None = None
    excluded: list[strawberry.ID] | None = None


def _selected_items(selection: SelectionInput | None) -> dict[str, Any]:
    if selection is None:
        return {"all": True, "excluded": []}
    ids = (selection.excluded if selection.all else selection.included) or []
    pks = [pk_of(task_id, "Task") for task_id in ids]
    if any(pk is None for pk in pks):
        raise ValidationError({"selection": ["Selections list Task ids."]})
    return {"all": True, "excluded": pks} if selection.all else {"all": False, "included": pks}


@strawberry.type
class RunDmActionPayload:
    processed_items: int | None = strawberry.field(description="Tasks the action processed, for actions that report it (null when it runs as a job).")
    response: JSON = strawberry.field(description="Label Studio's response body of the action.")
    job_pk: strawberry.Private[int | None]

    @strawberry.field(description="The job running the action when the selection was too large for the request; null otherwise.")
    async def job(self, info: Info) -> JobNode | None:
        return await job_field(info, self.job_pk)


def _action_payload(outcome: actions.ActionOutcome) -> RunDmActionPayload:
    processed = outcome.response.get("processed_items") if outcome.job_id is None else None
    return RunDmActionPayload(processed_items=processed, response=outcome.response, job_pk=outcome.job_id)


@strawberry.type
class DataManagerMutations:
    @strawberry.mutation(description="Create a Data Manager tab (POST /api/dm/views/).")
    async def create_view(self, info: Info, project_id: strawberry.ID, input: ViewInput) -> result_union("CreateViewResult", ViewPayload):
        return await run_use_case(info, lambda ctx: _create_view(ctx, project_id, input), _view_payload, {"project": "projectId"})

    @strawberry.mutation(description="Change a tab's title, filter, ordering or columns (PATCH /api/dm/views/{id}/).")
    async def update_view(self, info: Info, id: strawberry.ID, input: ViewInput) -> result_union("UpdateViewResult", ViewPayload):
        return await run_use_case(info, lambda ctx: _update_view(ctx, id, input), _view_payload)

    @strawberry.mutation
    async def delete_view(self, info: Info, id: strawberry.ID) -> result_union("DeleteViewResult", DeletePayload):
        return await run_use_case(info, lambda ctx: views.delete_view(ctx, pk_or_not_found(id, "View")), deleted(id))

    @strawberry.mutation(
        description="Run a Data Manager action (POST /api/dm/actions/?id=) over the tasks chosen by a view (viewId wins, as in "
        "REST) or by filter + selection. `params` holds the action's own fields (e.g. {\"model_version\": ...}). A selection "
        "larger than the server's threshold runs as a job."
    )
    async def run_dm_action(
        self,
        info: Info,
        project_id: strawberry.ID,
        action_id: str,
        selection: SelectionInput | None = None,
        view_id: strawberry.ID | None = None,
        filter: TaskFilterInput | None = None,
        order_by: list[TaskOrderInput] | None = None,
        params: JSON | None = None,
    ) -> result_union("RunDmActionResult", RunDmActionPayload):
        def use_case(ctx: Context) -> actions.ActionOutcome:
            if params is not None and not isinstance(params, dict):
                raise ValidationError({"params": ["params must be an object."]})
            body = {**(params or {}), "selectedItems": _selected_items(selection), "ordering": ordering_terms(order_by)}
            if filter is not None:
                body["filters"] = filters_dict(filter)
            view_pk = pk_or_not_found(view_id, "View") if view_id is not None else None
            return actions.perform_action(ctx, action_id, pk_or_not_found(project_id, "Project"), body, view_pk)

        return await run_use_case(info, use_case, _action_payload, {"selectedItems": "selection", "id": "actionId"})
