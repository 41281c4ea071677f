"""retrieve_tasks_predictions: ask the project's ML backend for the selected tasks' predictions.

As Label Studio's evaluate_predictions: the project's first backend, its state refreshed (/health,
/setup: the model version may have changed), then one /predict call for the selected tasks that
have no prediction of the current model version (none again until the version changes). A
selection over the job threshold runs as a "dm_action" job, a batch per call."""
from __future__ import annotations

from collections import Counter

from core.data_manager.actions.common import ActionRun
from core.ml.connection import first_backend, predict_tasks


def _retrieve_predictions(run: ActionRun, ids: list[int]) -> Counter:
    backend = first_backend(run.session, run.project.id)
    if backend is not None and ids:
        if run.settings is None:
            raise RuntimeError("retrieve_tasks_predictions needs the settings (outgoing-URL policy) in its ActionRun")
        created = predict_tasks(run.session, run.settings, backend, run.project, ids, actor_id=run.user_id)
        return Counter(tasks=len(ids), predictions=len(created))
    return Counter(tasks=len(ids))


def _respond_retrieved(run: ActionRun, counts: Counter) -> dict:
    # Label Studio counts the selected tasks, whatever the backend answered.
    return {"processed_items": counts["tasks"], "detail": f"Retrieved {counts['tasks']} predictions"}
