import socket

import pytest

from botopia_meta import safe_urls
from instagram.models import InstagramAccount
from tests.factories import IG_ID, PAGE_ID, PAGE_TOKEN, make_account, make_ig_account

__all__ = ["IG_ID", "PAGE_ID", "PAGE_TOKEN"]  # the ids the instagram tests fake Meta with
IG_PERMISSIONS = [
    "pages_show_list",
    "pages_manage_metadata",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_comments",
    "instagram_manage_messages",
]
PUBLIC_HOSTS = {"cdn.example.com": "93.184.216.34", "video.example.com": "151.101.1.1"}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    """Media URL hosts resolve without the network: a few public names, everything else fails."""

    def resolve(host, port, *args, **kwargs):
        if host in PUBLIC_HOSTS:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_HOSTS[host], port))]
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise socket.gaierror("unknown host") from None
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (host, port))]

    monkeypatch.setattr(safe_urls, "_resolve", resolve)


@pytest.fixture
def alice_ig_account(alice):
    return make_account(alice, permissions=IG_PERMISSIONS)


@pytest.fixture
def alice_ig(alice_ig_account):
    return make_ig_account(alice_ig_account)


@pytest.fixture
def connected_ig(alice_ig_account):
    return make_ig_account(alice_ig_account, status=InstagramAccount.Status.CONNECTED)


@pytest.fixture
def bob_ig_account(bob):
    return make_account(bob, meta_user_id="20002", permissions=IG_PERMISSIONS)
