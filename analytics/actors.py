"""Periodic pulls of Meta's analytics and housekeeping. Actors take ids and call services."""

from accounts.models import MetaAccount
from analytics import services
from botopia_meta.scheduler import periodic
from botopia_meta.tasks import actor


@periodic(seconds=6 * 3600)
@actor
def pull_all_insights() -> None:
    """Fan out: one message per active account, so one slow or failing account delays nobody."""
    for account_id in MetaAccount.objects.filter(status=MetaAccount.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        pull_account_insights.send(str(account_id))


@actor(max_retries=5)
def pull_account_insights(account_id: str) -> None:
    # Idempotent: values are replaced, never added, so a retry re-reads the same days.
    account = MetaAccount.objects.filter(pk=account_id, status=MetaAccount.Status.ACTIVE).first()
    if account is None:
        return
    services.insights_pull(account=account)


@periodic(seconds=24 * 3600)
@actor
def prune_recorded_keys() -> None:
    services.recorded_keys_prune()


@periodic(seconds=3600)
@actor
def detect_all_spikes() -> None:
    for account_id in MetaAccount.objects.filter(status=MetaAccount.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        detect_account_spikes.send(str(account_id))


@actor
def detect_account_spikes(account_id: str) -> None:
    # Idempotent: each notification has a dedupe key per hour and kind.
    account = MetaAccount.objects.filter(pk=account_id, status=MetaAccount.Status.ACTIVE).first()
    if account is not None:
        services.spikes_detect(account=account)
