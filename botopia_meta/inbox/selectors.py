"""Read helpers shared by the Facebook and Instagram inbox code."""

from typing import Any

from django.db.models import QuerySet

from accounts.models import MetaAccount
from accounts.selectors import active_for, owned_by
from botopia_meta.exceptions import NotFound
from botopia_meta.inbox.models import CommentBase, ConversationBase
from botopia_meta.inbox.spec import InboxSpec
from orgs.models import Organization


def owned(model: type[CommentBase] | type[ConversationBase], asset: str, org: Organization) -> QuerySet:
    """Rows of `model` under the caller's live assets of active accounts (the inbox lists what
    can be answered)."""
    return model.objects.filter(
        active_for(org, via=f"{asset}__account"), **{f"{asset}__deleted_at__isnull": True}
    ).select_related(asset, f"{asset}__account")


def comments_owned(spec: InboxSpec, *, org: Organization) -> QuerySet:
    return owned(spec.comment_model, spec.asset, org)


def conversations_owned(spec: InboxSpec, *, org: Organization) -> QuerySet:
    return owned(spec.conversation_model, spec.asset, org)


def require_own_assets(*, org: Organization, page_id: str | None, ig_account_id: str | None) -> None:
    """A page or Instagram account filter naming someone else's asset is a 404, as a lookup
    of it would be (an empty list would hide the mistake)."""
    accounts = MetaAccount.objects.filter(owned_by(org))
    if (
        page_id
        and not accounts.filter(
            facebook_pages__page_id=page_id, facebook_pages__deleted_at__isnull=True
        ).exists()
    ):
        raise NotFound("No such Facebook page among your connected accounts.")
    if (
        ig_account_id
        and not accounts.filter(
            instagram_accounts__ig_account_id=ig_account_id, instagram_accounts__deleted_at__isnull=True
        ).exists()
    ):
        raise NotFound("No such Instagram account among your connected accounts.")


def connected_for_webhook(spec: InboxSpec, asset_id: str) -> list[Any]:
    """Every connected row of the asset a webhook is for (one per Botopia account that connected
    it), under an active account. Not a caller's read: Meta names the asset."""
    Asset: Any = spec.asset_model  # FacebookPage / InstagramAccount, both with Status.CONNECTED
    return list(
        Asset.objects.filter(
            **{spec.asset_id_field: str(asset_id)},
            status=Asset.Status.CONNECTED,
            account__status=MetaAccount.Status.ACTIVE,
        ).select_related("account")
    )
