"""Read helpers shared by the Facebook and Instagram selectors."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet

from accounts.models import MetaAccount
from botopia_meta.exceptions import NotFound


def owned(model: type[Model], asset: str, user: AbstractBaseUser) -> QuerySet:
    """Rows of `model` under the caller's live assets of active accounts."""
    return model.objects.filter(
        **{
            f"{asset}__account__user": user,
            f"{asset}__deleted_at__isnull": True,
            f"{asset}__account__status": MetaAccount.Status.ACTIVE,
        }
    ).select_related(asset, f"{asset}__account")


def require_own_assets(*, user: AbstractBaseUser, page_id: str | None, ig_account_id: str | None) -> None:
    """A page or Instagram account filter naming someone else's asset is a 404, as a lookup
    of it would be (an empty list would hide the mistake)."""
    accounts = MetaAccount.objects.filter(user=user, deleted_at__isnull=True)
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
