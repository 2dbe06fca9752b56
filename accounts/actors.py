"""Dramatiq actors of the accounts app: they take ids, load the account and call a service."""

from datetime import timedelta

from accounts.exceptions import MetaTokenExpired
from accounts.selectors import (
    account_for_work,
    accounts_due_for_refresh,
    accounts_due_for_validation,
    accounts_expiring_without_refresh,
)
from accounts.services import (
    account_discover,
    account_mark_token_invalid,
    account_token_refresh,
    account_token_validate,
    account_warn_token_expiring,
)
from botopia_meta.exceptions import AccountNotConnected
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor


@actor
def discover_assets(account_id: str) -> None:
    """Find the account's WABAs, phone numbers, pages and IG accounts. Re-runnable."""
    account = account_for_work(account_id=account_id)
    if account is not None:
        account_discover(account=account)


@actor
def refresh_account_token(account_id: str) -> None:
    account = account_for_work(account_id=account_id)
    if account is None:
        return
    try:
        account_token_refresh(account=account)
    except (MetaTokenExpired, AccountNotConnected):
        return  # the account is marked and its owner notified: nothing to retry


@actor
def validate_account_token(account_id: str) -> None:
    account = account_for_work(account_id=account_id)
    if account is not None:
        account_token_validate(account=account)


@actor
def mark_token_invalid(account_id: str, reason: str = "") -> None:
    """Marks from a Graph call made inside a transaction that may roll back (see receivers)."""
    account_mark_token_invalid(account_id=account_id, reason=reason)


@periodic(seconds=3600)
@actor
def refresh_expiring_tokens() -> None:
    """Hourly: every user token expiring within 7 days gets a fresh one; the owner of a
    system-user token expiring that soon is told to make a new one."""
    for account_id in accounts_due_for_refresh(within=timedelta(days=7)):
        refresh_account_token.send(str(account_id))
    for account in accounts_expiring_without_refresh(within=timedelta(days=7)):
        account_warn_token_expiring(account=account)


@periodic(seconds=3600)
@actor
def revalidate_tokens() -> None:
    """Hourly pass, daily per token: tokens not checked for a day are re-checked with debug_token
    (catches a user removing the app or a permission while we were not calling)."""
    for account_id in accounts_due_for_validation(older_than=timedelta(days=1)):
        validate_account_token.send(str(account_id))
