"""Data Manager actions: the Community actions of Label Studio 1.23.2 over a task selection.

GET /api/dm/actions/ lists them as Label Studio does (hidden and experimental ones left out);
POST runs one over the tasks chosen by a view or by the body's filters + selectedItems.
A selection larger than `settings.dm_action_job_threshold` tasks runs as a "dm_action" job on
the workers (core.data_manager.jobs); the response then carries Label Studio's keys plus "job".

Every action works on a list of task ids with a constant number of statements per batch
(one DELETE/INSERT/UPDATE per table, executemany for row-wise values), so the request path and
the job share the code: `work` over a batch returns counts, `respond` turns the summed counts
into Label Studio's response. `work` records the events of what it changed in the batch's
transaction (request and job alike); `perform_action` checks the action's catalog permissions
(`Action.requires`; `Action.permission` is Label Studio's listed string) and records
ACTION_PERFORMED.

The experimental actions (add_data_field, propagate_annotations, rename_labels, cache_labels)
are not listed, as in Label Studio without experimental features, but run on POST like there.
Left out: `next_task` (hidden; the labeling queue's own endpoint) and Label Studio's calls to ML
backends in `retrieve_tasks_predictions` (Labelgraph has no ML backends yet, so it answers as
Label Studio does for a project without one).

Layout: `registry` (the table, listing, forms, running one), `common` (what every action
shares) and one module per group of actions."""
from core.data_manager.actions.common import ActionRun
from core.data_manager.actions.registry import (
    ACTIONS,
    JOB_KIND,
    Action,
    ActionIdMissing,
    ActionOutcome,
    action_form,
    list_actions,
    perform_action,
    queued_response,
)

__all__ = [
    "ACTIONS",
    "JOB_KIND",
    "Action",
    "ActionIdMissing",
    "ActionOutcome",
    "ActionRun",
    "action_form",
    "list_actions",
    "perform_action",
    "queued_response",
]
