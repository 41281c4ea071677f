"""retrieve_tasks_predictions: ask the project's ML backends for predictions (none can be connected yet)."""
from __future__ import annotations

from collections import Counter

from core.data_manager.actions.common import ActionRun


def _retrieve_predictions(run: ActionRun, ids: list[int]) -> Counter:
    # No ML backend can be connected in Labelgraph yet: nothing to ask, as in Label Studio
    # for a project without one.
    return Counter(tasks=len(ids))


def _respond_retrieved(run: ActionRun, counts: Counter) -> dict:
    return {"processed_items": counts["tasks"], "detail": f"Retrieved {counts['tasks']} predictions"}
