"""Facebook's part of the cross-platform inbox (see botopia_meta.registry.INBOX_SOURCES)."""

from botopia_meta.inbox.source import InboxSource, InboxSpec
from botopia_meta.registry import register_inbox_source
from facebook import selectors, services
from facebook.models import Comment, Conversation, ConversationMessage

PLATFORM = "facebook"

SPEC = InboxSpec(
    platform=PLATFORM,
    asset="page",
    asset_id_field="page_id",
    post_field="post_id",
    comment_permission="pages_manage_engagement",
    message_permission="pages_messaging",
    own_author=(("author_id", "page__page_id"),),  # the page's own replies
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
