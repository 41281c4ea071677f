"""Imports every domain's models so that Base.metadata is complete (Alembic, tests)."""
from core.annotations.models import Annotation  # noqa: F401
from core.auth.models import LegacyToken, RefreshToken  # noqa: F401
from core.data_manager.models import View  # noqa: F401
from core.db.base import Base  # noqa: F401
from core.events.models import OutboxEvent  # noqa: F401
from core.files.models import FileUpload  # noqa: F401
from core.exports.models import ConvertedFormat, Export  # noqa: F401
from core.jobs.models import Job  # noqa: F401
from core.organizations.models import Organization, OrganizationMember  # noqa: F401
from core.predictions.models import Prediction  # noqa: F401
from core.projects.models import Project  # noqa: F401
from core.tasks.models import ProjectImport, Task, TaskEvent  # noqa: F401
from core.users.models import User  # noqa: F401
from core.ml.models import MLBackend  # noqa: F401
from core.webhooks.models import Webhook, WebhookDelivery, WebhookMessage  # noqa: F401
