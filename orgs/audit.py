"""The audit log: one function records a change a member made.

Call `record()` right where the change is made: in a service's transaction when there is one
(so the entry and the change commit together), else in the view just after the service
returned. A change that is a call to Meta can't share a database transaction with anything;
its entry is written once Meta said yes and our copy was saved.

    record(request, "template.create", template, name=template.name)

The organization is the request's (`request.org`), else the one given, else the target's
(through its Meta account). Details must be small: names and ids, never a token or a body.
"""

import json
from typing import Any

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from orgs.models import AuditEntry, Organization


class Action:
    """Every action the log knows, so a filter can offer the list and a typo is an error."""

    ACCOUNT_CONNECT = "account.connect"
    ACCOUNT_DISCONNECT = "account.disconnect"
    PAGE_CONNECT = "page.connect"
    PAGE_DISCONNECT = "page.disconnect"
    INSTAGRAM_ACCOUNT_CONNECT = "instagram_account.connect"
    INSTAGRAM_ACCOUNT_DISCONNECT = "instagram_account.disconnect"
    TEMPLATE_CREATE = "template.create"
    TEMPLATE_EDIT = "template.edit"
    TEMPLATE_DELETE = "template.delete"
    BROADCAST_CREATE = "broadcast.create"
    BROADCAST_CANCEL = "broadcast.cancel"
    WEBHOOK_CONFIGURE = "webhook.configure"
    ANALYTICS_SETTINGS_UPDATE = "analytics_settings.update"
    BUSINESS_PROFILE_UPDATE = "business_profile.update"
    MEMBER_ROLE_CHANGE = "member.role_change"
    MEMBER_REMOVE = "member.remove"
    MEMBER_LEAVE = "member.leave"
    INVITATION_SEND = "invitation.send"
    INVITATION_REVOKE = "invitation.revoke"
    INVITATION_ACCEPT = "invitation.accept"
    ORGANIZATION_CREATE = "organization.create"
    ORGANIZATION_RENAME = "organization.rename"
    ORGANIZATION_DELETE = "organization.delete"


ACTIONS = frozenset(value for name, value in vars(Action).items() if name.isupper())

# Where a target's organization is, for targets that are not an Organization: the first
# attribute path that exists on the object (Meta account, WABA, phone number).
_ORGANIZATION_PATHS = (
    ("organization_id",),
    ("account", "organization_id"),
    ("waba", "account", "organization_id"),
    ("phone_number", "waba", "account", "organization_id"),
)


def _organization_id_of(target: models.Model) -> Any:
    if isinstance(target, Organization):
        return target.pk
    for path in _ORGANIZATION_PATHS:
        value: Any = target
        for name in path:
            value = getattr(value, name, None)
            if value is None:
                break
        if value is not None:
            return value
    return None


def _actor(request_or_actor: Any) -> User | None:
    if request_or_actor is None or isinstance(request_or_actor, User):
        return request_or_actor
    user = getattr(request_or_actor, "user", None)
    return user if isinstance(user, User) else None


def record(
    request_or_actor: Any,
    action: str,
    target: models.Model | None = None,
    *,
    organization: Organization | None = None,
    **details: Any,
) -> AuditEntry:
    """Write one audit entry: who (a request, a user, or None for the system), what (one of
    `Action`), on what (`target`, a model instance), in which organization."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}")
    organization_id = (
        (organization.pk if organization is not None else None)
        or getattr(getattr(request_or_actor, "org", None), "pk", None)
        or (_organization_id_of(target) if target is not None else None)
    )
    if organization_id is None:
        raise ValueError(f"No organization for audit action {action!r}")
    actor = _actor(request_or_actor)
    return AuditEntry.objects.create(
        organization_id=organization_id,
        actor=actor,
        actor_label=actor.get_username() if actor is not None else "",
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        details=json.loads(json.dumps(details, cls=DjangoJSONEncoder)),
    )
