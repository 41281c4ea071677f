"""Every kind of domain event, named as Label Studio names its webhook actions.

`webhook=True` marks Label Studio's own actions (the spec's ActionsEnum, listed by
GET /api/webhooks/info/ with these names and descriptions); the others are Labelgraph's, for
subscribers such as GraphQL subscriptions, statistics and the activity log."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventKind:
    key: str
    name: str
    description: str
    webhook: bool = False
    # Label Studio's "organization-only": sent to organization-wide webhooks only (no project).
    organization_only: bool = False


def _kind(key: str, name: str, description: str, **flags: bool) -> str:
    KINDS[key] = EventKind(key, name, description, **flags)
    return key


KINDS: dict[str, EventKind] = {}

# Label Studio's webhook actions, in its order.
PROJECT_CREATED = _kind("PROJECT_CREATED", "Project created", "Project is created", webhook=True, organization_only=True)
PROJECT_UPDATED = _kind("PROJECT_UPDATED", "Project updated", "Project is updated", webhook=True)
PROJECT_DELETED = _kind("PROJECT_DELETED", "Project deleted", "Project is deleted", webhook=True, organization_only=True)
TASKS_CREATED = _kind("TASKS_CREATED", "Task created", "Task is created", webhook=True)
TASKS_DELETED = _kind("TASKS_DELETED", "Task deleted", "Task is deleted", webhook=True)
ANNOTATION_CREATED = _kind("ANNOTATION_CREATED", "Annotation created", "Annotation is created", webhook=True)
ANNOTATIONS_CREATED = _kind("ANNOTATIONS_CREATED", "Annotations created", "Annotations are created", webhook=True)
ANNOTATION_UPDATED = _kind("ANNOTATION_UPDATED", "Annotation updated", "Annotation is updated", webhook=True)
ANNOTATIONS_DELETED = _kind("ANNOTATIONS_DELETED", "Annotation deleted", "Annotation is deleted", webhook=True)
LABEL_LINK_CREATED = _kind("LABEL_LINK_CREATED", "Label link created", "Label link is created", webhook=True)
LABEL_LINK_UPDATED = _kind("LABEL_LINK_UPDATED", "Label link updated", "Label link is updated", webhook=True)
LABEL_LINK_DELETED = _kind("LABEL_LINK_DELETED", "Label link deleted", "Label link is deleted", webhook=True)
REVIEW_CREATED = _kind("REVIEW_CREATED", "Review created", "Review is created", webhook=True)
REVIEW_UPDATED = _kind("REVIEW_UPDATED", "Review updated", "Review is updated", webhook=True)
REVIEWS_DELETED = _kind("REVIEWS_DELETED", "Review deleted", "Review is deleted", webhook=True)

# Labelgraph's own, in the same style.
TASKS_UPDATED = _kind("TASKS_UPDATED", "Tasks updated", "Task data or fields are changed")
TASK_EVENT_CREATED = _kind("TASK_EVENT_CREATED", "Task event created", "A labeling-interface event is recorded on a task")
PREDICTIONS_CREATED = _kind("PREDICTIONS_CREATED", "Predictions created", "Predictions are created")
PREDICTION_UPDATED = _kind("PREDICTION_UPDATED", "Prediction updated", "A prediction is updated")
PREDICTIONS_DELETED = _kind("PREDICTIONS_DELETED", "Predictions deleted", "Predictions are deleted")
IMPORT_COMPLETED = _kind("IMPORT_COMPLETED", "Import completed", "A project import finished")
FILE_UPLOADS_UPDATED = _kind("FILE_UPLOADS_UPDATED", "File uploads updated", "An uploaded file is replaced")
FILE_UPLOADS_DELETED = _kind("FILE_UPLOADS_DELETED", "File uploads deleted", "Uploaded files are deleted")
EXPORT_CREATED = _kind("EXPORT_CREATED", "Export created", "An export snapshot is requested")
EXPORT_CONVERTED = _kind("EXPORT_CONVERTED", "Export converted", "An export snapshot conversion is requested")
EXPORT_DELETED = _kind("EXPORT_DELETED", "Export deleted", "An export snapshot is deleted")
VIEWS_CREATED = _kind("VIEWS_CREATED", "Views created", "Data Manager views are created")
VIEWS_UPDATED = _kind("VIEWS_UPDATED", "Views updated", "Data Manager views are changed or reordered")
VIEWS_DELETED = _kind("VIEWS_DELETED", "Views deleted", "Data Manager views are deleted")
ACTION_PERFORMED = _kind("ACTION_PERFORMED", "Action performed", "A Data Manager action ran or was queued")
ORGANIZATION_UPDATED = _kind("ORGANIZATION_UPDATED", "Organization updated", "Organization settings are changed")
MEMBER_REMOVED = _kind("MEMBER_REMOVED", "Member removed", "A member leaves the organization")
INVITE_RESET = _kind("INVITE_RESET", "Invite reset", "The organization's invite link is renewed")
USER_CREATED = _kind("USER_CREATED", "User created", "A user is created")
USER_UPDATED = _kind("USER_UPDATED", "User updated", "A user's profile or hotkeys are changed")
USER_DELETED = _kind("USER_DELETED", "User deleted", "A user is deleted")
TOKEN_CREATED = _kind("TOKEN_CREATED", "Token created", "A personal access token is created or rotated")
TOKEN_REVOKED = _kind("TOKEN_REVOKED", "Token revoked", "A personal access token is blacklisted")
LEGACY_TOKEN_RESET = _kind("LEGACY_TOKEN_RESET", "Legacy token reset", "A user's legacy API token is renewed")
ANNOTATIONS_UPDATED = _kind("ANNOTATIONS_UPDATED", "Annotations updated", "Annotations are changed in bulk by a Data Manager action")
WEBHOOKS_CREATED = _kind("WEBHOOKS_CREATED", "Webhook created", "A webhook is created")
WEBHOOKS_UPDATED = _kind("WEBHOOKS_UPDATED", "Webhook updated", "A webhook is changed, or disabled after failing deliveries")
WEBHOOKS_DELETED = _kind("WEBHOOKS_DELETED", "Webhook deleted", "A webhook is deleted")
ML_BACKEND_CREATED = _kind("ML_BACKEND_CREATED", "ML backend created", "An ML backend is connected to a project")
ML_BACKEND_UPDATED = _kind("ML_BACKEND_UPDATED", "ML backend updated", "An ML backend's settings, state or model version change")
ML_BACKEND_DELETED = _kind("ML_BACKEND_DELETED", "ML backend deleted", "An ML backend is removed")
ML_TRAINING_REQUESTED = _kind("ML_TRAINING_REQUESTED", "Training requested", "A training signal is sent to an ML backend")

WEBHOOK_ACTIONS = [kind for kind in KINDS.values() if kind.webhook]
