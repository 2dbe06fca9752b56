"""URLs only Meta fetches (media links, template-header links, a post's link or photo, Instagram
publish URLs) pass one rule, botopia_meta.safe_urls.meta_fetched_url_reason: https, no
credentials, no literal private/loopback/link-local address, at most 2,000 characters, and no
DNS lookup. URLs we fetch ourselves keep the full check (tests/instagram/test_media_url_guard.py)."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from botopia_meta import safe_urls
from facebook.models import Post
from instagram.models import MediaPublish
from tests.conftest import graph_url
from tests.facebook.conftest import PAGE_ID, make_page
from tests.facebook.conftest import make_account as make_page_account
from tests.factories import BODY, make_ig_account, make_template, make_whatsapp_account
from tests.instagram.conftest import IG_PERMISSIONS
from whatsapp.models import Contact, Message

pytestmark = pytest.mark.django_db

WA_ID = "573001112233"
LONG = "https://cdn.example.com/" + "a" * 1977  # 2,001 characters
BAD_URLS = [
    ("http://cdn.example.com/a.jpg", "https://"),
    ("https://user:pw@cdn.example.com/a.jpg", "credentials"),
    ("https://127.0.0.1/a.jpg", "public address"),
    ("https://10.0.0.8/a.jpg", "public address"),
    ("https://169.254.169.254/latest/meta-data", "public address"),
    ("https://[::1]/a.jpg", "public address"),
    ("https://[::ffff:192.168.0.1]/a.jpg", "public address"),
    ("https://localhost/a.jpg", "public address"),
    ("https://", "no host"),
    (LONG, "2000"),
]


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Any lookup fails the test: the rule never resolves a name."""

    def resolve(*args, **kwargs):
        raise AssertionError("a URL only Meta fetches was resolved")

    monkeypatch.setattr(safe_urls, "_resolve", resolve)


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_it_refuses_what_meta_must_not_be_sent_to_fetch(url, reason):
    found = safe_urls.meta_fetched_url_reason(url)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.example.com/a.jpg",
        "https://unresolvable.invalid/a.jpg",  # Meta resolves it, not us
        "https://93.184.216.34/a.jpg",
        "https://cdn.example.com/" + "a" * 1976,  # 2,000 characters
    ],
)
def test_it_accepts_public_https_urls_without_a_lookup(url):
    assert safe_urls.meta_fetched_url_reason(url) is None


@pytest.fixture
def number(alice):
    _, _, number = make_whatsapp_account(alice)
    Contact.objects.create(
        phone_number=number, wa_id=WA_ID, last_inbound_at=timezone.now() - timedelta(hours=1)
    )
    return number


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_whatsapp_media_link_takes_the_rule(alice_client, number, meta, url, reason):
    body = {"to": WA_ID, "type": "image", "image": {"link": url}}
    response = alice_client.post("/api/meta/whatsapp/messages", body, format="json")
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]["details"]["image.link"][0]
    assert not Message.objects.exists() and not meta.calls


def test_a_whatsapp_media_link_is_accepted_without_a_lookup(alice_client, number):
    body = {"to": WA_ID, "type": "image", "image": {"link": "https://cdn.example.com/a.jpg"}}
    assert alice_client.post("/api/meta/whatsapp/messages", body, format="json").status_code == 202


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_template_header_link_takes_the_rule(alice_client, number, meta, url, reason):
    header = {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}}
    make_template(number.waba, name="with_image", language="en_US", components=[header, BODY])
    template = {
        "name": "with_image",
        "language": "en_US",
        "parameters": {"header": {"image": {"link": url}}, "body": ["Ana", "A-1"]},
    }
    response = alice_client.post(
        "/api/meta/whatsapp/messages", {"to": WA_ID, "type": "template", "template": template}, format="json"
    )
    assert response.status_code == 400, response.content
    details = response.json()["error"]["details"]
    assert reason in details["template.parameters.header.image.link"][0]
    assert not Message.objects.exists() and not meta.calls


@pytest.fixture
def page(alice):
    account = make_page_account(alice)
    return make_page(account, status="connected")


@pytest.mark.parametrize("field", ["link", "photoUrl"])
@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_facebook_post_link_or_photo_takes_the_rule(alice_client, page, meta, field, url, reason):
    response = alice_client.post(
        "/api/meta/facebook/posts", {"pageId": PAGE_ID, "message": "Hola", field: url}, format="json"
    )
    assert response.status_code == 400, response.content
    assert not meta.calls and not Post.objects.exists()


def test_a_facebook_post_link_is_accepted_without_a_lookup(alice_client, page, meta):
    meta.add(responses.POST, graph_url(f"{PAGE_ID}/feed"), json={"id": f"{PAGE_ID}_1"})
    meta.add(responses.GET, graph_url(f"{PAGE_ID}_1"), json={"permalink_url": "https://www.facebook.com/p/1"})
    response = alice_client.post(
        "/api/meta/facebook/posts",
        {"pageId": PAGE_ID, "message": "Hola", "link": "https://shop.example.com/sale"},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_an_instagram_publish_url_takes_the_rule(alice, alice_client, meta, url, reason):
    make_ig_account(make_page_account(alice, permissions=IG_PERMISSIONS), status="connected")
    body = {"accountId": "17841400000000002", "mediaType": "IMAGE", "mediaUrl": url}
    response = alice_client.post("/api/meta/instagram/media", body, format="json")
    assert response.status_code == 400, response.content
    assert not meta.calls and not MediaPublish.objects.exists()


def test_an_instagram_publish_url_is_accepted_without_a_lookup(alice, alice_client):
    make_ig_account(make_page_account(alice, permissions=IG_PERMISSIONS), status="connected")
    body = {
        "accountId": "17841400000000002",
        "mediaType": "IMAGE",
        "mediaUrl": "https://cdn.example.com/a.jpg",
    }
    response = alice_client.post("/api/meta/instagram/media", body, format="json")
    assert response.status_code in (201, 202), response.content


@pytest.mark.parametrize(
    ("url", "graph", "allowed"),
    [
        (
            "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
            "https://graph.facebook.com",
            True,
        ),
        ("https://scontent.xx.fbcdn.net/v/t1.png", "https://graph.facebook.com", True),
        ("https://mmg.whatsapp.net/d/f/a.enc", "https://graph.facebook.com", True),
        (
            "http://localhost:8000/sandbox/graph/whatsapp_business/attachments/?mid=1",
            "http://localhost:8000/sandbox/graph",
            True,
        ),
        ("http://localhost:8001/x", "http://localhost:8000/sandbox/graph", False),  # another port
        ("http://lookaside.fbsbx.com/a", "https://graph.facebook.com", False),  # not https
        ("https://lookaside.fbsbx.com:8443/a", "https://graph.facebook.com", False),
        ("https://fbsbx.com.attacker.example/a", "https://graph.facebook.com", False),
        ("https://evilfbsbx.com/a", "https://graph.facebook.com", False),
        ("https://user:pw@lookaside.fbsbx.com/a", "https://graph.facebook.com", False),
        ("https://169.254.169.254/latest", "https://graph.facebook.com", False),
        ("", "https://graph.facebook.com", False),
    ],
)
def test_only_metas_media_hosts_or_the_graph_urls_own_origin_get_our_token(url, graph, allowed):
    assert (safe_urls.meta_media_url_reason(url, graph_url=graph) is None) is allowed
