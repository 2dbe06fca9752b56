import pytest

from facebook.models import Comment, Conversation, Post
from instagram.models import MediaPublish
from tests.facebook.conftest import PAGE_TOKEN
from tests.factories import make_ig_account

pytestmark = pytest.mark.django_db


def test_it_shows_pages_without_their_token(staff_client, alice_page):
    for url in ["/admin/facebook/facebookpage/", f"/admin/facebook/facebookpage/{alice_page.pk}/change/"]:
        response = staff_client.get(url)
        assert response.status_code == 200
        assert PAGE_TOKEN not in response.content.decode()
    assert "EAAG…001" in response.content.decode()


def test_every_social_admin_page_opens(staff_client, connected_page):
    from django.utils import timezone

    ig = make_ig_account(connected_page.account)
    Post.objects.create(page=connected_page, status="published", post_id="1_2")
    Comment.objects.create(page=connected_page, comment_id="c1", created_time=timezone.now())
    conversation = Conversation.objects.create(page=connected_page, contact_id="p1")
    conversation.messages.create(
        direction="inbound", text="hola", status="received", sent_at=timezone.now(), mid="m1"
    )
    MediaPublish.objects.create(ig_account=ig, media_type="IMAGE", status="scheduled")
    for model in [
        "facebook/post",
        "facebook/comment",
        "facebook/conversation",
        "instagram/instagramaccount",
        "instagram/mediapublish",
        "instagram/comment",
        "instagram/conversation",
    ]:
        assert staff_client.get(f"/admin/{model}/").status_code == 200, model
    assert staff_client.get(f"/admin/facebook/conversation/{conversation.pk}/change/").status_code == 200
