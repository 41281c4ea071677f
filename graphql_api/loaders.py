"""The request's DataLoaders, one per key (`XByYLoader`), created per request by the context.
Each batch is one core batch read run in a worker thread (see graphql_api.context), scoped to
the caller's organization; rows become GraphQL values in that thread."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiodataloader import DataLoader

from graphql_api.annotations.loaders import AnnotationByIdLoader, AnnotationsByTaskIdLoader
from graphql_api.data_manager.loaders import ViewByIdLoader, ViewsByProjectIdLoader
from graphql_api.exports.loaders import (
    ConvertedFormatsByExportIdLoader,
    ExportSnapshotByIdLoader,
    ExportSnapshotCountByProjectIdLoader,
    ExportSnapshotsByProjectIdLoader,
)
from graphql_api.jobs.loaders import JobByIdLoader
from graphql_api.ml.loaders import MLBackendByIdLoader
from graphql_api.predictions.loaders import PredictionByIdLoader, PredictionsByTaskIdLoader
from graphql_api.projects.loaders import ModelVersionsByProjectIdLoader, ProjectByIdLoader, ProjectCountersByIdLoader
from graphql_api.tasks.loaders import TaskByIdLoader, TaskCountByProjectIdLoader, TasksByProjectIdLoader
from graphql_api.users.loaders import OrganizationByIdLoader, UserByIdLoader
from graphql_api.webhooks.loaders import (
    WebhookByIdLoader,
    WebhookDeliveriesByWebhookIdLoader,
    WebhookDeliveryCountByWebhookIdLoader,
)

if TYPE_CHECKING:
    from graphql_api.context import GraphQLContext


class Loaders:
    def __init__(self, context: "GraphQLContext"):
        self.project_by_id = ProjectByIdLoader(context)
        self.project_counters_by_id = ProjectCountersByIdLoader(context)
        self.model_versions_by_project_id = ModelVersionsByProjectIdLoader(context)
        self.task_by_id = TaskByIdLoader(context)
        self.tasks_by_project_id = TasksByProjectIdLoader(context)
        self.task_count_by_project_id = TaskCountByProjectIdLoader(context)
        self.annotation_by_id = AnnotationByIdLoader(context)
        self.annotations_by_task_id = AnnotationsByTaskIdLoader(context)
        self.prediction_by_id = PredictionByIdLoader(context)
        self.predictions_by_task_id = PredictionsByTaskIdLoader(context)
        self.user_by_id = UserByIdLoader(context)
        self.organization_by_id = OrganizationByIdLoader(context)
        self.job_by_id = JobByIdLoader(context)
        self.view_by_id = ViewByIdLoader(context)
        self.views_by_project_id = ViewsByProjectIdLoader(context)
        self.export_snapshot_by_id = ExportSnapshotByIdLoader(context)
        self.export_snapshots_by_project_id = ExportSnapshotsByProjectIdLoader(context)
        self.export_snapshot_count_by_project_id = ExportSnapshotCountByProjectIdLoader(context)
        self.converted_formats_by_export_id = ConvertedFormatsByExportIdLoader(context)
        self.webhook_by_id = WebhookByIdLoader(context)
        self.ml_backend_by_id = MLBackendByIdLoader(context)
        self.webhook_deliveries_by_webhook_id = WebhookDeliveriesByWebhookIdLoader(context)
        self.webhook_delivery_count_by_webhook_id = WebhookDeliveryCountByWebhookIdLoader(context)

    @property
    def by_type_name(self) -> dict[str, DataLoader]:
        """The by-id loader of each Node type, for `node(id:)`."""
        return {
            "Project": self.project_by_id,
            "Task": self.task_by_id,
            "Annotation": self.annotation_by_id,
            "Prediction": self.prediction_by_id,
            "User": self.user_by_id,
            "Organization": self.organization_by_id,
            "Job": self.job_by_id,
            "View": self.view_by_id,
            "ExportSnapshot": self.export_snapshot_by_id,
            "Webhook": self.webhook_by_id,
            "MLBackend": self.ml_backend_by_id,
        }
