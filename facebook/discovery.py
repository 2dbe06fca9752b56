"""Facebook's discovery step: the pages of GET /me/accounts, each with its page token
(encrypted at rest). Registers with botopia_meta.registry on import."""

from typing import Any

from accounts.discovery import DiscoveryRun, sync_rows, text, url
from accounts.models import MetaAccount
from botopia_meta.registry import register_discovery
from facebook.models import FacebookPage


def _page_values(page: dict) -> dict[str, Any]:
    picture = page.get("picture")
    picture_data = picture.get("data") if isinstance(picture, dict) else None
    if not isinstance(picture_data, dict):
        picture_data = {}
    values = {
        "name": text(page.get("name"), 255),
        "category": text(page.get("category"), 255),
        "picture_url": url(picture_data.get("url")),
        "tasks": [task for task in page.get("tasks") or [] if isinstance(task, str)],
    }
    if isinstance(page.get("access_token"), str) and page["access_token"]:
        # Absent when the user lacks a task on the page: keep the token we have.
        values["access_token"] = page["access_token"]
    return values


def discover_facebook(account: MetaAccount, *, run: DiscoveryRun) -> dict[str, int]:
    pages = {str(page["id"]): _page_values(page) for page in run.pages()}
    # New pages start "available"; a page the user already connected keeps its status.
    sync_rows(FacebookPage, scope={"account": account}, key="page_id", items=pages)
    return {"facebook_pages": len(pages)}


register_discovery("facebook", discover_facebook)
