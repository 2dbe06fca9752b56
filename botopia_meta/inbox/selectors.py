"""Read helpers shared by the Facebook and Instagram selectors."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, QuerySet

from accounts.models import MetaAccount


def owned(model: type[Model], asset: str, user: AbstractBaseUser) -> QuerySet:
    """Rows of `model` under the caller's live assets of active accounts."""
    return model.objects.filter(
        **{
            f"{asset}__account__user": user,
            f"{asset}__deleted_at__isnull": True,
            f"{asset}__account__status": MetaAccount.Status.ACTIVE,
        }
    ).select_related(asset, f"{asset}__account")
