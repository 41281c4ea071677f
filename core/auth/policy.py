"""Who may do what: the permission catalog, the roles, and `require`.

Every use case declares the permission it needs with `@use_case(PERMISSION, emits=...)`; the
decorator calls `require(ctx, PERMISSION)` before the use case runs. A use case that loads a
project calls `require(ctx, PERMISSION, project=project)` where a rule depends on the project
(project membership, workspaces: the Enterprise access model builds them here).

Roles are Label Studio's membership roles (OW, AD, MA, RE, AN, and DI/NO that may do nothing).
Label Studio Community has no roles: every member may do everything an owner may. That is the
default here too; `Settings.enforce_roles` (LABELGRAPH_ENFORCE_ROLES) makes each member act with
their own role's permissions, as Label Studio Enterprise does."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from core.context import Context
from core.errors import PermissionDenied

if TYPE_CHECKING:
    from core.projects.models import Project

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Permission:
    key: str
    label: str
    writes: bool  # a write use case must record an event


PERMISSIONS: dict[str, Permission] = {}


def _permission(key: str, label: str, *, writes: bool) -> str:
    PERMISSIONS[key] = Permission(key, label, writes)
    return key


# Label Studio's names (core/permissions.py of Label Studio), plus a few of Labelgraph's own.
ACCOUNT_VIEW = _permission("account.view", "See one's own account, tokens and hotkeys", writes=False)
ACCOUNT_CHANGE = _permission("account.change", "Change one's own account, tokens and hotkeys", writes=True)
ORGANIZATIONS_VIEW = _permission("organizations.view", "See the organization and its members", writes=False)
ORGANIZATIONS_CHANGE = _permission("organizations.change", "Change organization settings and memberships", writes=True)
ORGANIZATIONS_INVITE = _permission("organizations.invite", "Invite people to the organization", writes=True)
USERS_CREATE = _permission("users.create", "Create users in the organization", writes=True)
USERS_CHANGE = _permission("users.change", "Change or delete other users", writes=True)
PROJECTS_CREATE = _permission("projects.create", "Create projects", writes=True)
PROJECTS_VIEW = _permission("projects.view", "See projects", writes=False)
PROJECTS_CHANGE = _permission("projects.change", "Change project settings and label configs", writes=True)
PROJECTS_DELETE = _permission("projects.delete", "Delete projects", writes=True)
TASKS_CREATE = _permission("tasks.create", "Create and import tasks", writes=True)
TASKS_VIEW = _permission("tasks.view", "See tasks", writes=False)
TASKS_CHANGE = _permission("tasks.change", "Change tasks", writes=True)
TASKS_DELETE = _permission("tasks.delete", "Delete tasks", writes=True)
ANNOTATIONS_CREATE = _permission("annotations.create", "Create annotations", writes=True)
ANNOTATIONS_VIEW = _permission("annotations.view", "See annotations", writes=False)
ANNOTATIONS_CHANGE = _permission("annotations.change", "Change annotations", writes=True)
ANNOTATIONS_DELETE = _permission("annotations.delete", "Delete annotations", writes=True)
PREDICTIONS_VIEW = _permission("predictions.view", "See predictions", writes=False)
PREDICTIONS_CHANGE = _permission("predictions.any", "Create, change and delete predictions", writes=True)
VIEWS_VIEW = _permission("views.view", "See Data Manager views", writes=False)
VIEWS_CHANGE = _permission("views.change", "Create, change and delete Data Manager views", writes=True)
ACTIONS_PERFORM = _permission("actions.perform", "Run Data Manager actions", writes=True)
EXPORTS_VIEW = _permission("exports.view", "Export project data and download exports", writes=False)
EXPORTS_CREATE = _permission("exports.create", "Create, convert and delete export snapshots", writes=True)
JOBS_VIEW = _permission("jobs.view", "See long jobs of the organization", writes=False)
WEBHOOKS_VIEW = _permission("webhooks.view", "See webhooks and their delivery logs", writes=False)
WEBHOOKS_CHANGE = _permission("webhooks.change", "Create, change and delete webhooks", writes=True)
MODELS_VIEW = _permission("models.view", "See ML backends and their model versions", writes=False)
MODELS_CHANGE = _permission("models.change", "Connect, change, delete and train ML backends", writes=True)
MODELS_PREDICT = _permission("models.predict", "Ask ML backends for predictions (interactive or of tasks)", writes=True)

OWNER, ADMINISTRATOR, MANAGER, REVIEWER, ANNOTATOR, DEACTIVATED, NOT_ACTIVATED = "OW", "AD", "MA", "RE", "AN", "DI", "NO"

_ANNOTATOR = frozenset({
    ACCOUNT_VIEW, ACCOUNT_CHANGE, ORGANIZATIONS_VIEW, PROJECTS_VIEW, TASKS_VIEW, ANNOTATIONS_CREATE, ANNOTATIONS_VIEW,
    ANNOTATIONS_CHANGE, PREDICTIONS_VIEW, VIEWS_VIEW, JOBS_VIEW, MODELS_PREDICT,
})
_REVIEWER = _ANNOTATOR | {TASKS_CHANGE, VIEWS_CHANGE}
_MANAGER = _REVIEWER | {
    PROJECTS_CREATE, PROJECTS_CHANGE, PROJECTS_DELETE, TASKS_CREATE, TASKS_DELETE, ANNOTATIONS_DELETE, PREDICTIONS_CHANGE,
    ACTIONS_PERFORM, EXPORTS_VIEW, EXPORTS_CREATE, ORGANIZATIONS_INVITE, WEBHOOKS_VIEW, WEBHOOKS_CHANGE, MODELS_VIEW,
    MODELS_CHANGE,
}
_ADMINISTRATOR = _MANAGER | {ORGANIZATIONS_CHANGE, USERS_CREATE, USERS_CHANGE}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    OWNER: frozenset(PERMISSIONS),
    ADMINISTRATOR: frozenset(_ADMINISTRATOR),
    MANAGER: frozenset(_MANAGER),
    REVIEWER: frozenset(_REVIEWER),
    ANNOTATOR: _ANNOTATOR,
    DEACTIVATED: frozenset(),
    NOT_ACTIVATED: frozenset(),
}
# Permissions about one's own account need no organization.
_WITHOUT_ORGANIZATION = frozenset({ACCOUNT_VIEW, ACCOUNT_CHANGE})


def effective_role(ctx: Context) -> str:
    """The role the caller acts with: their membership's, or the owner's where roles are not enforced."""
    if not ctx.settings.enforce_roles:
        return OWNER
    return ctx.role or NOT_ACTIVATED


def can(ctx: Context, permission: str, project: "Project | None" = None) -> bool:
    if ctx.user is None:
        return False
    if permission not in _WITHOUT_ORGANIZATION and ctx.organization_id is None:
        return False
    return permission in ROLE_PERMISSIONS[effective_role(ctx)]


def require(ctx: Context, permission: str, project: "Project | None" = None) -> None:
    """Raise unless the caller may use `permission` (on `project`, when given)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}")
    ctx.require_user()
    if permission not in _WITHOUT_ORGANIZATION:
        ctx.org_id  # noqa: B018 - raises for a user without an active organization
    if not can(ctx, permission, project):
        raise PermissionDenied()


@dataclass(frozen=True)
class UseCase:
    name: str
    permission: str
    emits: tuple[str, ...]


# Every declared use case by qualified name ("core.projects.service.update_project").
USE_CASES: dict[str, UseCase] = {}


def use_case(permission: str, *, emits: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare a use case: what it needs (checked on every call) and the events it records."""
    if permission not in PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}")

    def declare(function: F) -> F:
        declared = UseCase(f"{function.__module__}.{function.__qualname__}", permission, tuple(emits))

        @functools.wraps(function)
        def checked(ctx: Context, *args: Any, **kwargs: Any) -> Any:
            require(ctx, permission)
            return function(ctx, *args, **kwargs)

        checked.use_case = declared  # type: ignore[attr-defined]
        USE_CASES[declared.name] = declared
        return checked  # type: ignore[return-value]

    return declare
