"""Instagram's part of the cross-platform inbox (see botopia_meta.registry.INBOX_SOURCES)."""

from botopia_meta.inbox.source import InboxSource, InboxSpec
from botopia_meta.registry import register_inbox_source
from instagram import selectors, services
from instagram.models import Comment, Conversation, ConversationMessage

PLATFORM = "instagram"

SPEC = InboxSpec(
    platform=PLATFORM,
    asset="ig_account",
    asset_id_field="ig_account_id",
    post_field="media_id",
    comment_permission="instagram_manage_comments",
    message_permission="instagram_manage_messages",
    # The account's own replies (Meta sometimes gives only the username).
    own_author=(("author_id", "ig_account__ig_account_id"), ("author_name", "ig_account__username")),
    comment_model=Comment,
    conversation_model=Conversation,
    message_model=ConversationMessage,
    selectors=selectors,
    services=services,
)
SOURCE = InboxSource(SPEC)

comment_row = SOURCE.comment_row
comment_list = SOURCE.comment_list
comment_act = SOURCE.comment_act
conversation_row = SOURCE.conversation_row
conversation_list = SOURCE.conversation_list
message_row = SOURCE.message_row
conversation_messages = SOURCE.conversation_messages
conversation_send = SOURCE.conversation_send
conversation_read = SOURCE.conversation_read

register_inbox_source(PLATFORM, SOURCE)
