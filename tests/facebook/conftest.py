import pytest

from facebook.models import FacebookPage
from tests.factories import PAGE_ID, PAGE_TOKEN, make_account, make_page

__all__ = ["PAGE_ID", "PAGE_TOKEN"]  # the ids the facebook tests fake Meta with


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
