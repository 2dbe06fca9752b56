"""Who may do what: the permission names, what each role holds, and the one table declaring the
permission every /api/ endpoint needs.

`OrganizationPermission` (a default DRF permission class, after IsAuthenticated) looks the
request's URL name and method up in ENDPOINTS, resolves the organization it acts on
(orgs.context) and checks the caller's role: refused is 403 PERMISSION_DENIED naming the
permission and the role, before the view runs (so before any Graph call or write). An endpoint
or method missing from the table is refused too (fail closed) and logged as a programming error;
tests/test_role_matrix.py walks the URLconf so that never ships.

Owners and admins hold the same permissions but `org.delete`; "an admin cannot manage owners"
is a rule on the members being changed, enforced by the members services, not a permission.
"""

import logging

from rest_framework.permissions import BasePermission

from botopia_meta.exceptions import RolePermissionDenied
from orgs import context
from orgs.models import Role

logger = logging.getLogger(__name__)

# Every permission, one line each: what it allows.
PERMISSIONS: dict[str, str] = {
    "accounts.read": "see the connected Meta accounts and their status",
    "accounts.connect": "connect, refresh and disconnect Meta accounts",
    "assets.read": "see WABAs, numbers, pages and Instagram accounts",
    "assets.manage": "re-discover assets, connect and disconnect pages and Instagram accounts",
    "templates.read": "see message templates",
    "templates.manage": "create, edit, delete and sync message templates",
    "messages.read": "read WhatsApp messages",
    "messages.send": "send WhatsApp messages and reactions, mark them read",
    "conversations.read": "read Messenger and Instagram conversations and WhatsApp contacts",
    "conversations.reply": "answer conversations and mark them read",
    "comments.read": "read Facebook and Instagram comments",
    "comments.hide": "reply to, hide and unhide comments",
    "comments.moderate": "delete comments",
    "posts.read": "see posts, Instagram media and publishes",
    "posts.publish": "publish, schedule and cancel posts and Instagram media",
    "broadcasts.read": "see broadcasts",
    "broadcasts.create": "send and cancel broadcasts",
    "webhooks.read": "see the webhook configuration",
    "webhooks.configure": "configure webhooks and their forwarding",
    "analytics.read": "see metrics, insights, reports and analytics settings",
    "settings.manage": "change analytics settings and the WhatsApp business profile",
    "notifications.read": "read notifications and mark them read (read state is per member)",
    "members.read": "see the organization's members; choose a default organization",
    "members.manage": "invite, remove and change the role of members",
    "org.manage": "rename the organization",
    "org.delete": "delete the organization",
    "audit.read": "read the organization's audit log",
}

_READS = {name for name in PERMISSIONS if name.endswith(".read")}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(PERMISSIONS),
    Role.ADMIN: frozenset(PERMISSIONS) - {"org.delete"},
    Role.AGENT: frozenset(
        {
            "accounts.read",
            "assets.read",
            "templates.read",
            "messages.read",
            "messages.send",
            "conversations.read",
            "conversations.reply",
            "comments.read",
            "comments.hide",
            "posts.read",
            "notifications.read",
            "members.read",
        }
    ),
    Role.VIEWER: frozenset(_READS - {"audit.read"}),
}

# URL name -> {HTTP method: permission}; None: authenticated, no organization needed (the
# view works across the caller's organizations, or before they have one).
ENDPOINTS: dict[str, dict[str, str | None]] = {
    # accounts
    "meta-auth-connect": {"POST": "accounts.connect"},
    "meta-auth-status": {"GET": "accounts.read"},
    "meta-auth-refresh-token": {"POST": "accounts.connect"},
    "meta-auth-disconnect": {"POST": "accounts.connect"},
    # whatsapp: account, numbers, profile
    "whatsapp-account": {"GET": "assets.read"},
    "whatsapp-account-refresh": {"POST": "assets.manage"},
    "whatsapp-business-profile": {"PATCH": "settings.manage"},
    "whatsapp-phone-numbers": {"GET": "assets.read"},
    # whatsapp: templates
    "whatsapp-templates": {"GET": "templates.read", "POST": "templates.manage"},
    "whatsapp-templates-sync": {"POST": "templates.manage"},
    "whatsapp-template": {"GET": "templates.read", "PUT": "templates.manage", "DELETE": "templates.manage"},
    # whatsapp: messages, contacts, broadcasts
    "whatsapp-messages": {"GET": "messages.read", "POST": "messages.send"},
    "whatsapp-message": {"GET": "messages.read"},
    "whatsapp-message-read": {"POST": "messages.send"},
    "whatsapp-contact": {"GET": "conversations.read"},
    "whatsapp-broadcasts": {"POST": "broadcasts.create"},
    "whatsapp-broadcast": {"GET": "broadcasts.read"},
    "whatsapp-broadcast-cancel": {"POST": "broadcasts.create"},
    # whatsapp: media (uploading is part of sending; files are read with their messages)
    "whatsapp-media": {"POST": "messages.send"},
    "whatsapp-media-file": {"GET": "messages.read"},
    # facebook
    "facebook-pages": {"GET": "assets.read"},
    "facebook-pages-sync": {"POST": "assets.manage"},
    "facebook-page-connect": {"POST": "assets.manage"},
    "facebook-page-disconnect": {"POST": "assets.manage"},
    "facebook-posts": {"GET": "posts.read", "POST": "posts.publish"},
    "facebook-posts-scheduled": {"GET": "posts.read"},
    "facebook-post-cancel": {"POST": "posts.publish"},
    # instagram
    "instagram-accounts": {"GET": "assets.read"},
    "instagram-account-connect": {"POST": "assets.manage"},
    "instagram-account-disconnect": {"POST": "assets.manage"},
    "instagram-media": {"GET": "posts.read", "POST": "posts.publish"},
    "instagram-publishes": {"GET": "posts.read"},
    "instagram-publish": {"GET": "posts.read"},
    "instagram-publish-cancel": {"POST": "posts.publish"},
    # inbox (Facebook and Instagram comments and conversations)
    "inbox-comments": {"GET": "comments.read"},
    "inbox-comment": {"DELETE": "comments.moderate"},
    "inbox-comment-reply": {"POST": "comments.hide"},
    "inbox-comment-hide": {"POST": "comments.hide"},
    "inbox-comment-unhide": {"POST": "comments.hide"},
    "inbox-conversations": {"GET": "conversations.read"},
    "inbox-conversation-messages": {"GET": "conversations.read", "POST": "conversations.reply"},
    "inbox-conversation-read": {"POST": "conversations.reply"},
    # webhooks and notifications
    "webhook-config": {"GET": "webhooks.read"},
    "webhook-configure": {"POST": "webhooks.configure"},
    "notification-list": {"GET": "notifications.read"},
    "notification-read": {"POST": "notifications.read"},
    # analytics
    "whatsapp-metrics": {"GET": "analytics.read"},
    "analytics-overview": {"GET": "analytics.read"},
    "analytics-insights": {"GET": "analytics.read"},
    "analytics-settings": {"GET": "analytics.read", "PUT": "settings.manage"},
    "analytics-reports": {"GET": "analytics.read"},
    # organizations and members (the org in the URL is the one acted on)
    "orgs": {"GET": None, "POST": None},
    "org": {"PATCH": "org.manage", "DELETE": "org.delete"},
    "org-default": {"POST": "members.read"},
    "org-members": {"GET": "members.read"},
    # DELETE: any member may leave; removing someone else needs members.manage (checked by the view)
    "org-member": {"PATCH": "members.manage", "DELETE": "members.read"},
    "org-invitations": {"GET": "members.manage", "POST": "members.manage"},
    "org-invitation": {"DELETE": "members.manage"},
    "invitation-accept": {"POST": None},
    "org-audit": {"GET": "audit.read"},
}


class Undeclared(LookupError):
    """ENDPOINTS declares nothing for this URL name and method."""


def role_allows(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


def required_permission(url_name: str | None, method: str) -> str | None:
    """The permission (or None) ENDPOINTS declares; Undeclared when it declares nothing.
    HEAD is GET's; OPTIONS (the endpoint's description, no data) needs no organization."""
    method = "GET" if method == "HEAD" else method
    if method == "OPTIONS":
        return None
    methods = ENDPOINTS.get(url_name or "", {})
    if method not in methods:
        raise Undeclared(f"{method} {url_name}")
    return methods[method]


class OrganizationPermission(BasePermission):
    """Resolve the organization (request.org, request.membership) and check the role."""

    def has_permission(self, request, view) -> bool:
        match = getattr(request, "resolver_match", None)
        url_name = match.url_name if match is not None else None
        try:
            permission = required_permission(url_name, request.method)
        except Undeclared:
            logger.error(
                "No permission declared for %s %s (%s): refused. Add it to orgs.permissions.ENDPOINTS.",
                request.method,
                url_name,
                type(view).__name__,
            )
            raise RolePermissionDenied(
                f"{request.method} {url_name}", None, "This endpoint is not available."
            ) from None
        if permission is None:
            return True
        kwargs = match.kwargs if match is not None else {}
        membership = context.resolve(
            user=request.user,
            url_org_id=kwargs.get("org_id"),
            header=request.headers.get(context.HEADER),
        )
        request.org = membership.organization
        request.membership = membership
        if not role_allows(membership.role, permission):
            raise RolePermissionDenied(permission, membership.role)
        return True
