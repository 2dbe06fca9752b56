"""Reads scoped to the request's organization: everything starts from its active accounts."""

from django.db.models import Case, QuerySet, Value, When

from accounts.selectors import active_for
from botopia_meta.exceptions import NotFound
from facebook.models import FacebookPage, Post
from orgs.models import Organization


def page_list(*, org: Organization) -> QuerySet[FacebookPage]:
    return (
        FacebookPage.objects.filter(active_for(org, via="account"))
        .select_related("account")
        .order_by("name", "page_id")
    )


def page_get(*, org: Organization, page_id: str) -> FacebookPage:
    """The caller's page by Meta's id; someone else's page is 404 like a missing one. With two
    of the caller's accounts reaching the same page, the most recently connected one wins."""
    page = (
        page_list(org=org)
        .filter(page_id=str(page_id))
        .order_by("-account__connected_at", "-account__created_at")
        .first()
    )
    if page is None:
        raise NotFound("No such Facebook page among your connected accounts.")
    return page


def page_default(*, org: Organization) -> FacebookPage:
    """The page a request without `pageId` means: the caller's connected page (most recently
    connected account first), else their first page."""
    connected_first = Case(When(status=FacebookPage.Status.CONNECTED, then=Value(0)), default=Value(1))
    page = page_list(org=org).order_by(connected_first, "-account__connected_at", "name").first()
    if page is None:
        raise NotFound("No Facebook page among your connected accounts: connect one first.")
    return page


def scheduled_post_list(*, org: Organization, page_id: str | None = None) -> QuerySet[Post]:
    """The caller's scheduled posts, soonest first; with `page_id`, that page's (404 when the
    page is not theirs, like every other page lookup)."""
    pages = page_list(org=org)
    if page_id:
        pages = pages.filter(pk=page_get(org=org, page_id=page_id).pk)
    return (
        Post.objects.filter(page__in=pages, status=Post.Status.SCHEDULED)
        .select_related("page")
        .order_by("scheduled_publish_time")
    )


def post_get(*, org: Organization, post_pk: str) -> Post:
    post = (
        Post.objects.filter(page__in=page_list(org=org), pk=post_pk).select_related("page__account").first()
    )
    if post is None:
        raise NotFound("No such post.")
    return post
