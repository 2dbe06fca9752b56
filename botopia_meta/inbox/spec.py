"""What differs between Facebook and Instagram in the shared comment / conversation code: one
`InboxSpec` per platform, declared in that app's `inbox.py` (the apps may not import each other,
so the shared code receives them)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from django.db.models import Model

from analytics.recording import record
from botopia_meta.inbox.models import CommentBase, ConversationBase, ConversationMessageBase

# The inbox API's two asset filters/keys; a row fills its own and leaves the other None.
ASSET_KEYS = ("page_id", "ig_account_id")


@dataclass(frozen=True)
class InboxSpec:
    platform: str  # "facebook" / "instagram": the inbox rows' and analytics' platform
    key_prefix: str  # "fb" / "ig": analytics idempotency keys, actor names (fb_deliver_message)
    queue: str  # the Dramatiq queue of the platform's actors
    actors_module: str  # where those actors live ("facebook.actors"), imported when enqueueing
    asset_model: type[Model]  # FacebookPage / InstagramAccount
    asset: str  # the FK from Comment/Conversation to the asset: "page" / "ig_account"
    asset_id_field: str  # Meta's id on the asset, also the inbox filter key: "page_id" / ...
    asset_label: str  # how a webhook's ignore reason names the asset: "page" / "Instagram account"
    # Meta's author/profile key for a display name, also the asset's own name attribute:
    # "name" (Facebook: {"id", "name"}, page.name) / "username" (Instagram, ig.username).
    name_field: str
    post_field: str  # the Comment column naming the post: "post_id" / "media_id"
    comment_permission: str
    message_permission: str
    # Our own comments never need an answer: Comment column -> path to the asset's value.
    own_author: tuple[tuple[str, str], ...]
    comment_model: type[CommentBase]
    conversation_model: type[ConversationBase]
    message_model: type[ConversationMessageBase]
    # The platform's graph.py: comment_reply/comment_hide/comment_delete(asset, comment_id, ...),
    # message_send(asset, recipient_id=, text=, image_url=), contact_profile(asset, contact_id).
    graph: ModuleType
    contact_name: Callable[[dict[str, Any]], str]  # contact_profile's answer -> the name shown
    window_refusal: str  # the 409 outside the 24-hour window
    honour_deletes: bool = False  # Instagram tells when a DM is unsent (`is_deleted`)
    # Our own errors that fail a send / mean "no profile" instead of retrying (Instagram's
    # PageTokenMissing: the linked page is gone).
    refusals: tuple[type[Exception], ...] = ()
    service_window: timedelta = timedelta(hours=24)

    @property
    def asset_path(self) -> str:
        return f"{self.asset}__{self.asset_id_field}"

    @property
    def other_key(self) -> str:
        return next(key for key in ASSET_KEYS if key != self.asset_id_field)

    def asset_row(self, asset_id: str) -> dict[str, Any]:
        return {key: asset_id if key == self.asset_id_field else None for key in ASSET_KEYS}

    def asset_id(self, asset: Any) -> str:
        return getattr(asset, self.asset_id_field)

    def own_author_of(self, asset: Any) -> dict[str, str]:
        """The asset as Meta names a comment's author."""
        return {"id": self.asset_id(asset), self.name_field: getattr(asset, self.name_field)}

    def is_own(self, comment: Any, asset: Any) -> bool:
        """Written by the asset itself (in Python, as `own_author` says in SQL)."""
        for column, path in self.own_author:
            value = getattr(asset, path.split("__", 1)[1])
            if value and getattr(comment, column) == value:
                return True
        return False

    def record(self, *, asset: Any, metric: str, at: datetime, key: str) -> None:
        """Count one event for analytics; `key` is made unique per platform and account."""
        record(
            account_id=asset.account_id,
            platform=self.platform,
            metric=metric,
            at=at,
            asset_id=self.asset_id(asset),
            key=f"{self.key_prefix}:{asset.account_id}:{key}",
        )
