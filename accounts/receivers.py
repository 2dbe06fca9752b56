"""Signal receivers of the accounts app (e.g. a Graph call answered with code 190)."""

import logging

from django.db import connection
from django.dispatch import receiver

from accounts.models import MetaAccount
from botopia_meta.graph import GraphError, token_invalid

logger = logging.getLogger(__name__)


@receiver(token_invalid, dispatch_uid="accounts.mark_token_invalid")
def mark_owner_expired(
    sender: object, owner: object = None, error: GraphError | None = None, **kwargs
) -> None:
    """Any Graph call anywhere answered 190/102: its account is marked expired + needs_reauth."""
    if not isinstance(owner, MetaAccount) or owner.pk is None:
        return  # an app-token call, or a token being checked at connect time
    from accounts.actors import mark_token_invalid
    from accounts.services import account_mark_token_invalid

    reason = (error.user_msg or error.message) if error is not None else ""
    try:
        account_mark_token_invalid(account_id=owner.pk, reason=reason)
        if connection.in_atomic_block:
            # The caller's transaction may roll back with the error and take the mark along:
            # the broker is outside the transaction, so this second (idempotent) mark survives.
            mark_token_invalid.send(str(owner.pk), reason)
    except Exception:
        # Never let bookkeeping hide the Graph error the caller is about to handle.
        logger.exception("Could not mark Meta account %s expired", owner.pk)
