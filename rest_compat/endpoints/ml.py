"""ML backends: the spec's `ml` tag (/api/ml/...)."""
from __future__ import annotations

from core.errors import ValidationError
from core.ml import queries, service
from core.shapes.ml import ml_backend_json
from core.validation import parse_bool
from rest_compat.http import ApiRequest, api, api_route, json_response


def _is_interactive(req: ApiRequest) -> bool | None:
    raw = req.query.get("is_interactive")
    if raw in (None, ""):
        return None
    value = parse_bool(raw)
    if value is None:
        raise ValidationError({"is_interactive": ["Enter a valid boolean."]})
    return value


def list_view(req: ApiRequest):
    return [ml_backend_json(b) for b in queries.list_ml_backends(req.ctx, req.int_param("project"), _is_interactive(req))]


def create_view(req: ApiRequest):
    return ml_backend_json(service.create_ml_backend(req.ctx, req.json(default={})))


def detail_view(req: ApiRequest):
    return ml_backend_json(queries.get_ml_backend(req.ctx, req.path["id"]))


def update_view(req: ApiRequest):
    return ml_backend_json(service.update_ml_backend(req.ctx, req.path["id"], req.json(default={})))


def delete_view(req: ApiRequest):
    service.delete_ml_backend(req.ctx, req.path["id"])


def train_view(req: ApiRequest):
    # Label Studio answers an empty 200 once the backend was called; here the call is a job.
    service.request_training(req.ctx, req.path["id"])
    return {}


def predict_view(req: ApiRequest):
    job = service.start_prediction_run(req.ctx, req.path["id"], req.query.get("batch_size"))
    return {"detail": f"Predicting the project's tasks in the background as job {job.id}", "job": job.id}


def interactive_view(req: ApiRequest):
    return service.predict_interactive(req.ctx, req.path["id"], req.json(default={}))


def versions_view(req: ApiRequest):
    answer = queries.model_versions(req.ctx, req.path["id"])
    return json_response(answer.body, answer.status)


routes = [
    *api_route("/api/ml/", {"GET": api(list_view), "POST": api(create_view, status=201)}),
    *api_route("/api/ml/{id:int}", {"GET": api(detail_view), "PATCH": api(update_view), "DELETE": api(delete_view)}),
    *api_route("/api/ml/{id:int}/train", {"POST": api(train_view)}),
    *api_route("/api/ml/{id:int}/predict", {"POST": api(predict_view)}),
    *api_route("/api/ml/{id:int}/interactive-annotating", {"POST": api(interactive_view)}),
    *api_route("/api/ml/{id:int}/versions", {"GET": api(versions_view)}),
]
