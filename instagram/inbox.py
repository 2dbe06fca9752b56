"""Instagram's part of the shared comment / DM code: its one `InboxSpec`, registered as an
inbox source (see botopia_meta.registry.INBOX_SOURCES)."""

from typing import Any

from botopia_meta.inbox.source import InboxSource
from botopia_meta.inbox.spec import InboxSpec
from botopia_meta.registry import register_inbox_source
from instagram import graph
from instagram.models import Comment, Conversation, ConversationMessage, InstagramAccount


def _contact_name(profile: dict[str, Any]) -> str:
    return str(profile.get("username") or profile.get("name") or "")


SPEC = InboxSpec(
    platform="instagram",
    key_prefix="ig",
    queue="instagram",
    actors_module="instagram.actors",
    asset_model=InstagramAccount,
    asset="ig_account",
    asset_id_field="ig_account_id",
    asset_label="Instagram account",
    name_field="username",
    post_field="media_id",
    comment_permission="instagram_manage_comments",
    message_permission="instagram_manage_messages",
    # The account's own replies (Meta sometimes gives only the username).
    own_author=(("author_id", "ig_account__ig_account_id"), ("author_name", "ig_account__username")),
    comment_model=Comment,
    conversation_model=Conversation,
    message_model=ConversationMessage,
    graph=graph,
    contact_name=_contact_name,
    window_refusal="This person has not written to the account in the last 24 hours: "
    "Instagram does not allow a reply.",
    honour_deletes=True,  # Instagram says when a DM is unsent
    refusals=(graph.PageTokenMissing,),  # the linked page is gone: no token to send or read with
)

register_inbox_source(SPEC.platform, InboxSource(SPEC))
