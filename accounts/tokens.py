"""Graph clients bound to a connected account's tokens."""

from accounts.models import MetaAccount
from botopia_meta.graph import GraphClient


def graph_for(account: MetaAccount, *, target: str | None = None) -> GraphClient:
    """A client using the account's user / system-user token. A code-190 answer marks the
    account expired (the token_invalid signal carries it as owner)."""
    return GraphClient(account.access_token, target=target or f"account:{account.pk}", owner=account)


def page_graph_for(account: MetaAccount, *, page_id: str, page_token: str) -> GraphClient:
    """A client using a page token (Facebook page and its linked Instagram account calls)."""
    return GraphClient(page_token, target=f"page:{page_id}", owner=account)
