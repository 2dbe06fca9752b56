"""Read helpers shared by the Facebook and Instagram inbox code."""

from typing import Any

from django.db.models import QuerySet

from accounts.models import MetaAccount
from accounts.selectors import account_list, active_for
from botopia_meta.exceptions import NotFound
from botopia_meta.inbox.models import CommentBase, ConversationBase
from botopia_meta.inbox.spec import InboxSpec
from orgs.models import Organization


def owned(
    spec: InboxSpec,
    model: type[CommentBase] | type[ConversationBase],
    org: Organization,
    asset_id: str | None = None,
) -> QuerySet:
    """Rows of `model` under the caller's live assets of active accounts (the inbox lists what
    can be answered). The assets are looked up first (a handful) and the rows filtered by their
    ids, so a list reads "this page, newest first" straight off its (asset, time, id) index."""
    Asset: Any = spec.asset_model
    assets = Asset.objects.filter(active_for(org, via="account"))
    if asset_id:
        assets = assets.filter(**{spec.asset_id_field: asset_id})
    assets = list(assets.values_list("pk", flat=True))
    return model.objects.filter(**{f"{spec.asset}_id__in": assets}).select_related(
        spec.asset, f"{spec.asset}__account"
    )


def comments_owned(spec: InboxSpec, *, org: Organization, asset_id: str | None = None) -> QuerySet:
    return owned(spec, spec.comment_model, org, asset_id)


def conversations_owned(spec: InboxSpec, *, org: Organization, asset_id: str | None = None) -> QuerySet:
    return owned(spec, spec.conversation_model, org, asset_id)


def require_own_assets(
    *, org: Organization, page_id: str | None, ig_account_id: str | None, phone_number_id: str | None = None
) -> None:
    """A page, Instagram account or WhatsApp number filter naming someone else's asset is a
    404, as a lookup of it would be (an empty list would hide the mistake)."""
    accounts = account_list(org=org)
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
    if (
        phone_number_id
        and not accounts.filter(
            whatsapp_accounts__deleted_at__isnull=True,
            whatsapp_accounts__phone_numbers__phone_number_id=phone_number_id,
            whatsapp_accounts__phone_numbers__deleted_at__isnull=True,
        ).exists()
    ):
        raise NotFound("No such WhatsApp phone number among your connected accounts.")


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
