"""Instagram's discovery step: the professional accounts linked to the pages of
GET /me/accounts, read with GET /{ig-id}. Registers with botopia_meta.registry on import."""

from accounts.discovery import DiscoveryRun, count, meta_id, sync_rows, text, url
from accounts.models import MetaAccount
from botopia_meta.graph import GraphError, GraphTokenExpired
from botopia_meta.registry import register_discovery, register_page_subscription_user
from instagram.models import InstagramAccount

IG_FIELDS = "id,username,name,profile_picture_url,followers_count,media_count"


def discover_instagram(account: MetaAccount, *, run: DiscoveryRun) -> dict[str, int]:
    accounts: dict[str, dict] = {}
    unreadable: list[str] = []
    for page in run.pages():
        linked = page.get("instagram_business_account")
        ig_id = meta_id(linked.get("id")) if isinstance(linked, dict) else None
        if ig_id is None:
            continue
        try:
            data = run.graph.get(ig_id, {"fields": IG_FIELDS}).json_object
        except GraphError as exc:
            if not exc.permanent or isinstance(exc, GraphTokenExpired):
                raise
            unreadable.append(ig_id)  # unreadable now is no proof it is gone: keep the row
            continue
        accounts[ig_id] = {
            "page_id": str(page["id"]),
            "username": text(data.get("username"), 255),
            "name": text(data.get("name"), 255),
            "profile_picture": url(data.get("profile_picture_url")),
            "followers_count": count(data.get("followers_count")),
            "media_count": count(data.get("media_count")),
        }
    sync_rows(
        InstagramAccount, scope={"account": account}, key="ig_account_id", items=accounts, keep=unreadable
    )
    return {"instagram_accounts": len(accounts)}


def _uses_page_subscription(page_id: str) -> bool:
    """Instagram events for Facebook Login arrive through the linked page's subscription."""
    return InstagramAccount.objects.filter(page_id=page_id, status=InstagramAccount.Status.CONNECTED).exists()


register_discovery("instagram", discover_instagram)
register_page_subscription_user("instagram", _uses_page_subscription)
