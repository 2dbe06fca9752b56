"""Facebook's discovery step: the pages of GET /me/accounts, each with its page token
(encrypted at rest). Registers with botopia_meta.registry on import."""

from accounts.discovery import DiscoveryRun, retire_missing, text, upsert, url
from accounts.models import MetaAccount
from botopia_meta.registry import register_discovery
from facebook.models import FacebookPage


def discover_facebook(account: MetaAccount, *, run: DiscoveryRun) -> dict[str, int]:
    seen: list[str] = []
    for page in run.pages():
        picture = page.get("picture") if isinstance(page.get("picture"), dict) else {}
        picture_data = picture.get("data") if isinstance(picture.get("data"), dict) else {}
        defaults = {
            "name": text(page.get("name"), 255),
            "category": text(page.get("category"), 255),
            "picture_url": url(picture_data.get("url")),
            "tasks": [str(task) for task in page.get("tasks") or [] if isinstance(task, str)],
        }
        if page.get("access_token"):
            # Absent when the user lacks a task on the page: keep the token we have.
            defaults["access_token"] = str(page["access_token"])
        upsert(FacebookPage, lookup={"account": account, "page_id": str(page["id"])}, defaults=defaults)
        seen.append(str(page["id"]))
    retire_missing(FacebookPage.all_objects.filter(account=account), field="page_id", seen=seen)
    return {"facebook_pages": len(seen)}


register_discovery("facebook", discover_facebook)
