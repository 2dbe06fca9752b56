"""Facebook's part of the shared comment / Messenger code: its one `InboxSpec`, registered as
an inbox source (see botopia_meta.registry.INBOX_SOURCES)."""

from typing import Any

from botopia_meta.inbox.source import InboxSource
from botopia_meta.inbox.spec import InboxSpec
from botopia_meta.registry import register_inbox_source
from facebook import graph
from facebook.models import Comment, Conversation, ConversationMessage, FacebookPage


def _contact_name(profile: dict[str, Any]) -> str:
    return " ".join(part for part in (profile.get("first_name"), profile.get("last_name")) if part)


SPEC = InboxSpec(
    platform="facebook",
    key_prefix="fb",
    queue="facebook",
    actors_module="facebook.actors",
    asset_model=FacebookPage,
    asset="page",
    asset_id_field="page_id",
    asset_label="page",
    name_field="name",
    post_field="post_id",
    comment_permission="pages_manage_engagement",
    message_permission="pages_messaging",
    own_author=(("author_id", "page__page_id"),),  # the page's own replies
    comment_model=Comment,
    conversation_model=Conversation,
    message_model=ConversationMessage,
    graph=graph,
    contact_name=_contact_name,
    window_refusal="This person has not written to the page in the last 24 hours: "
    "Messenger does not allow a reply.",
)

register_inbox_source(SPEC.platform, InboxSource(SPEC))
