"""Prediction -> Label Studio JSON (PredictionSerializer of LS 1.23.2)."""
from __future__ import annotations

from core.predictions.models import Prediction
from core.timeutil import isoformat
from rest_compat.shapes.annotations import created_ago


def prediction_json(prediction: Prediction) -> dict:
    return {
        "id": prediction.id,
        "result": prediction.result,
        "model_version": prediction.model_version or "",
        "created_ago": created_ago(prediction.created_at),
        "score": prediction.score,
        "cluster": prediction.cluster,
        "neighbors": prediction.neighbors,
        "mislabeling": prediction.mislabeling if prediction.mislabeling is not None else 0.0,
        "created_at": isoformat(prediction.created_at),
        "updated_at": isoformat(prediction.updated_at),
        "model": prediction.model_id,
        "model_run": prediction.model_run_id,
        "task": prediction.task_id,
        "project": prediction.project_id,
    }
