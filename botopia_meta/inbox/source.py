"""One inbox source (see botopia_meta.registry.INBOX_SOURCES) serving both Facebook and
Instagram: the per-platform differences live in an `InboxSpec`."""

from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import MetaAccount
from accounts.selectors import require_permissions
from botopia_meta.api.pagination import Total, count_rows, keyset_after
from botopia_meta.exceptions import ValidationFailed
from botopia_meta.inbox import comments, messaging
from botopia_meta.inbox.selectors import comments_owned, conversations_owned
from botopia_meta.inbox.spec import InboxSpec
from orgs.models import Organization

# Each list's order, newest first, ending in the primary key; a cursor carries a row's values
# of these (rows of another platform sort the same way: the merged lists page by it too).
COMMENT_ORDER = ("-created_time", "-id")
CONVERSATION_ORDER = ("-last_message_at", "-id")
MESSAGE_ORDER = ("-sent_at", "-id")


class InboxSource:
    def __init__(self, spec: InboxSpec) -> None:
        self.spec = spec
        self.comment_columns = (
            "pk",
            "comment_id",
            spec.post_field,
            "parent_id",
            "author_id",
            "author_name",
            "message",
            "created_time",
            "hidden",
            "reply_message",
            "replied_at",
        )

    def _asset_id(self, row: Any) -> str:
        return self.spec.asset_id(getattr(row, self.spec.asset))

    def _account(self, row: Any) -> MetaAccount:
        return getattr(row, self.spec.asset).account

    def _filtered_comments(self, org: Organization, filters: dict) -> QuerySet:
        spec = self.spec
        qs = comments_owned(spec, org=org, asset_id=filters.get(spec.asset_id_field))
        if filters.get("post_id"):
            qs = qs.filter(**{spec.post_field: filters["post_id"]})
        if filters.get("unreplied"):
            qs = qs.filter(reply_id="", replied_at__isnull=True)
            for column, path in spec.own_author:
                qs = qs.exclude(**{column: F(path)})
        if filters.get("start"):
            qs = qs.filter(created_time__gte=filters["start"])
        if filters.get("end"):
            qs = qs.filter(created_time__lt=filters["end"])
        return qs

    def _comment_values_row(self, values: dict) -> dict[str, Any]:
        return {
            "id": values["pk"],
            "platform": self.spec.platform,
            **self.spec.asset_row(values["asset"]),
            "post_id": values[self.spec.post_field],
            "comment_id": values["comment_id"],
            "parent_id": values["parent_id"],
            "author_id": values["author_id"],
            "author_name": values["author_name"],
            "text": values["message"],
            "created_time": values["created_time"],
            "hidden": values["hidden"],
            "reply_text": values["reply_message"] or None,
            "replied_at": values["replied_at"],
        }

    def comment_row(self, comment: Any) -> dict[str, Any]:
        return self._comment_values_row(
            {
                **{name: getattr(comment, name) for name in self.comment_columns},
                "asset": self._asset_id(comment),
            }
        )

    def comment_list(
        self, *, org: Organization, filters: dict, upto: int, before: list | None = None
    ) -> tuple[Total, list[dict]]:
        """`upto` rows newest first (after the sort key `before`, a cursor's) and the total."""
        if filters.get(self.spec.other_key):
            return Total(0), []
        qs = self._filtered_comments(org, filters)
        page = qs.filter(keyset_after(COMMENT_ORDER, before)) if before else qs
        # values(): a list never builds model instances (nor decrypts the asset's token per row).
        rows = page.order_by(*COMMENT_ORDER).values(*self.comment_columns, asset=F(self.spec.asset_path))[
            :upto
        ]
        return count_rows(qs), [self._comment_values_row(values) for values in rows]

    def comment_act(
        self, *, org: Organization, comment_id: Any, action: str, message: str | None = None
    ) -> dict | None:
        spec = self.spec
        comment = comments_owned(self.spec, org=org).filter(pk=comment_id).first()
        if comment is None:
            return None
        require_permissions(self._account(comment), spec.comment_permission)
        if action == "reply":
            comment = comments.comment_reply(spec, comment=comment, message=message or "")
        elif action in ("hide", "unhide"):
            comment = comments.comment_set_hidden(spec, comment=comment, hidden=action == "hide")
        elif action == "delete":
            comment = comments.comment_delete(spec, comment=comment)
        else:
            raise ValidationFailed(f"Unknown action {action!r}.", details={"action": ["Unknown."]})
        return self.comment_row(comment)

    def conversation_row(self, conversation: Any) -> dict[str, Any]:
        return self._conversation_values_row(
            {
                "pk": conversation.pk,
                "contact_id": conversation.contact_id,
                "contact_name": conversation.contact_name,
                "last_message_at": conversation.last_message_at,
                "last_inbound_at": conversation.last_inbound_at,
                "unread_count": conversation.unread_count,
                "last_message_text": conversation.messages.order_by("-sent_at")
                .values_list("text", flat=True)
                .first(),
                "asset": self._asset_id(conversation),
            }
        )

    def conversation_list(
        self, *, org: Organization, filters: dict, upto: int, before: list | None = None
    ) -> tuple[Total, list[dict]]:
        spec = self.spec
        if filters.get(spec.other_key) or filters.get("phone_number_id"):
            return Total(0), []
        qs = conversations_owned(spec, org=org, asset_id=filters.get(spec.asset_id_field)).filter(
            last_message_at__isnull=False
        )
        if filters.get("unread") is not None:
            qs = qs.filter(unread_count__gt=0) if filters["unread"] else qs.filter(unread_count=0)
        if filters.get("contact"):
            qs = qs.filter(Q(contact_id=filters["contact"]) | Q(contact_name__icontains=filters["contact"]))
        last_text = (
            # `conversation` is declared on each concrete message model (to its own app's
            # Conversation): django-stubs checks lookups against the abstract base's fields.
            spec.message_model.objects.filter(conversation=OuterRef("pk"))  # type: ignore[misc]
            .order_by("-sent_at")
            .values("text")[:1]
        )
        page = qs.filter(keyset_after(CONVERSATION_ORDER, before)) if before else qs
        rows = (
            page.order_by(*CONVERSATION_ORDER)
            .annotate(last_message_text=Subquery(last_text))
            .values(
                "pk",
                "contact_id",
                "contact_name",
                "last_message_at",
                "last_inbound_at",
                "unread_count",
                "last_message_text",
                asset=F(spec.asset_path),
            )[:upto]
        )
        return count_rows(qs), [self._conversation_values_row(values) for values in rows]

    def _conversation_values_row(self, values: dict) -> dict[str, Any]:
        last_inbound = values["last_inbound_at"]
        window = self.spec.service_window
        return {
            "id": values["pk"],
            "platform": self.spec.platform,
            **self.spec.asset_row(values["asset"]),
            "phone_number_id": None,  # WhatsApp's asset (whatsapp/inbox.py)
            "contact_id": values["contact_id"],
            "contact_name": values["contact_name"] or None,
            "last_message_at": values["last_message_at"],
            "last_message_text": values["last_message_text"],
            "unread_count": values["unread_count"],
            "can_reply": bool(last_inbound and timezone.now() - last_inbound <= window),
            "window_expires_at": last_inbound + window if last_inbound else None,
        }

    @staticmethod
    def message_row(message: Any) -> dict[str, Any]:
        return {
            "id": message.pk,
            "conversation_id": message.conversation_id,
            "mid": message.mid,
            "direction": message.direction,
            "text": message.text,
            "image_url": message.image_url or None,
            "attachments": message.attachments,
            "status": message.status,
            "sent_at": message.sent_at,
            "error": message.error or None,
        }

    def _conversation(self, org: Organization, conversation_id: Any) -> Any:
        return conversations_owned(self.spec, org=org).filter(pk=conversation_id).first()

    def conversation_messages(
        self, *, org: Organization, conversation_id: Any, limit: int, offset: int, before: list | None = None
    ) -> tuple[Total, list[dict]] | None:
        """One page (`limit` rows from `offset`, or after the sort key `before`) and the total."""
        conversation = self._conversation(org, conversation_id)
        if conversation is None:
            return None
        qs = conversation.messages.order_by(*MESSAGE_ORDER)
        page = (
            qs.filter(keyset_after(MESSAGE_ORDER, before))[:limit] if before else qs[offset : offset + limit]
        )
        return count_rows(qs), [self.message_row(m) for m in page]

    def conversation_send(
        self, *, org: Organization, sender_id: int, conversation_id: Any, text: str, image_url: str
    ) -> dict | None:
        conversation = self._conversation(org, conversation_id)
        if conversation is None:
            return None
        require_permissions(self._account(conversation), self.spec.message_permission)
        message = messaging.message_queue(
            self.spec, conversation=conversation, text=text, image_url=image_url
        )
        return self.message_row(message)

    def conversation_read(self, *, org: Organization, conversation_id: Any) -> dict | None:
        conversation = self._conversation(org, conversation_id)
        if conversation is None:
            return None
        messaging.conversation_mark_read(self.spec, conversation=conversation)
        conversation.unread_count = 0
        return self.conversation_row(conversation)
