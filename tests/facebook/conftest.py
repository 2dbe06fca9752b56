import pytest
from django.utils import timezone

from accounts.models import MetaAccount
from facebook.models import FacebookPage

PAGE_ID = "330000000000001"
PAGE_TOKEN = "EAAGpage-token-alice-0001"
ALL_PAGE_PERMISSIONS = [
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_metadata",
    "pages_manage_engagement",
    "pages_messaging",
]


def make_account(user, *, meta_user_id: str = "10001", permissions=None) -> MetaAccount:
    return MetaAccount.objects.create(
        user=user,
        meta_app_id="app-1",
        meta_user_id=meta_user_id,
        meta_user_name=f"{user.username} at Meta",
        access_token=f"EAAGuser-token-{user.username}",
        permissions=ALL_PAGE_PERMISSIONS if permissions is None else permissions,
        connected_at=timezone.now(),
    )


def make_page(
    account, *, page_id: str = PAGE_ID, token: str = PAGE_TOKEN, status=FacebookPage.Status.AVAILABLE
):
    return FacebookPage.objects.create(
        account=account,
        page_id=page_id,
        name="Zapatería Sofía",
        category="Shoe Store",
        picture_url="https://scontent.example/p.jpg",
        access_token=token,
        status=status,
    )


@pytest.fixture
def alice_account(alice):
    return make_account(alice)


@pytest.fixture
def alice_page(alice_account):
    return make_page(alice_account)


@pytest.fixture
def connected_page(alice_account):
    return make_page(alice_account, status=FacebookPage.Status.CONNECTED)


@pytest.fixture
def bob_account(bob):
    return make_account(bob, meta_user_id="20002")
