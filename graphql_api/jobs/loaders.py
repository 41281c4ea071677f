from __future__ import annotations

from core.jobs.batch import jobs_by_ids
from graphql_api.dataloader import by_id_loader
from graphql_api.jobs.types import JobNode

JobByIdLoader = by_id_loader("JobByIdLoader", jobs_by_ids, JobNode.from_model)
