"""Graph clients bound to a connected account's tokens."""

from accounts.models import MetaAccount
from botopia_meta.graph import GraphClient


def graph_for(account: MetaAccount, *, target: str | None = None) -> GraphClient:
    """A client using the account's user / system-user token. A code-190 answer marks the
    account expired (the token_invalid signal carries it as owner)."""
    return GraphClient(account.access_token, target=target or f"account:{account.pk}", owner=account)


def page_graph_for(account: MetaAccount, *, page_id: str, page_token: str) -> GraphClient:
    """A client using a page token (Facebook page and its linked Instagram account calls).

    No owner: a 190 on one page's token (say the user lost their role on that page) must not
    expire the whole Meta account; a dead user token is caught by the hourly re-validation."""
    return GraphClient(page_token, target=f"page:{page_id}")
