"""Prediction -> Label Studio JSON (PredictionSerializer of LS 1.23.2), for the REST API and the export."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from core.predictions.models import Prediction
from core.shapes.annotations import created_ago, raw_time
from core.timeutil import isoformat


def _prediction_fields(prediction: Any, result: Any, neighbors: Any, render_time: Callable[[datetime | None], Any]) -> dict:
    return {
        "id": prediction.id,
        "result": result,
        "model_version": prediction.model_version or "",
        "created_ago": created_ago(prediction.created_at),
        "score": prediction.score,
        "cluster": prediction.cluster,
        "neighbors": neighbors,
        "mislabeling": prediction.mislabeling if prediction.mislabeling is not None else 0.0,
        "created_at": render_time(prediction.created_at),
        "updated_at": render_time(prediction.updated_at),
        "model": prediction.model_id,
        "model_run": prediction.model_run_id,
        "task": prediction.task_id,
        "project": prediction.project_id,
    }


def prediction_json(prediction: Prediction) -> dict:
    """The REST API's prediction."""
    return _prediction_fields(prediction, prediction.result, prediction.neighbors, isoformat)


def exported_prediction_json(prediction: Any, *, result: Any, neighbors: Any) -> dict:
    """An expanded prediction of the export: a Prediction or a row with its columns, whose JSON
    columns the caller passes (the export embeds raw JSON text). Times stay datetimes (see raw_time)."""
    return _prediction_fields(prediction, result, neighbors, raw_time)
