from __future__ import annotations

from core.ml.batch import ml_backends_by_ids
from graphql_api.dataloader import by_id_loader
from graphql_api.ml.types import MLBackendNode

MLBackendByIdLoader = by_id_loader("MLBackendByIdLoader", ml_backends_by_ids, MLBackendNode.from_model)
