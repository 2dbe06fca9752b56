"""Graph clients bound to a connected account's tokens."""

from accounts.models import MetaAccount
from botopia_meta.fields import is_undecryptable
from botopia_meta.graph import GraphClient, GraphTokenExpired

UNREADABLE = (
    "The stored Meta token cannot be decrypted (its encryption key was removed from "
    "FIELD_ENCRYPTION_KEYS): connect the account again."
)


def require_readable(account: MetaAccount, *tokens: str) -> None:
    """A token no configured key decrypts is as good as revoked: the account is marked
    needs_reauth with a notification (once), and the caller gets GraphTokenExpired (401
    META_TOKEN_EXPIRED on the API; permanent, not retried, in an actor), never a 500."""
    if any(is_undecryptable(token) for token in (account.access_token, *tokens)):
        from accounts.services import account_mark_token_invalid

        account_mark_token_invalid(account_id=account.pk, reason=UNREADABLE)
        raise GraphTokenExpired(UNREADABLE, sent=False)


def graph_for(account: MetaAccount, *, target: str | None = None) -> GraphClient:
    """A client using the account's user / system-user token. A code-190 answer marks the
    account expired (the token_invalid signal carries it as owner)."""
    require_readable(account)
    return GraphClient(account.access_token, target=target or f"account:{account.pk}", owner=account)


def page_graph_for(account: MetaAccount, *, page_id: str, page_token: str) -> GraphClient:
    """A client using a page token (Facebook page and its linked Instagram account calls).

    No owner: a 190 on one page's token (say the user lost their role on that page) must not
    expire the whole Meta account; a dead user token is caught by the hourly re-validation.
    A page token no key decrypts is another matter: reconnecting the account renews it."""
    if is_undecryptable(page_token):
        require_readable(account, page_token)
    return GraphClient(page_token, target=f"page:{page_id}")
