"""Instagram publishing: containers, status polling, the publishing limit, our own scheduling."""

from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import responses
from django.utils import timezone

from instagram.actors import ig_publish_media, ig_sweep_publishes
from instagram.models import MediaPublish
from instagram.services import publish_step
from tests.conftest import graph_url, meta_error
from tests.instagram.conftest import IG_ID, PAGE_TOKEN

CONTAINER = "17890000000000001"
MEDIA = "17900000000000009"


@pytest.fixture(autouse=True)
def fast_polls(settings):
    settings.IG_CONTAINER_POLL_MS = 10
    settings.IG_CONTAINER_MAX_POLLS = 5


def fake_meta(meta, *statuses: str, used: int = 2):
    meta.add(
        responses.GET,
        graph_url(f"{IG_ID}/content_publishing_limit"),
        json={"data": [{"quota_usage": used, "config": {"quota_total": 100, "quota_duration": 86400}}]},
    )
    meta.add(responses.POST, graph_url(f"{IG_ID}/media"), json={"id": CONTAINER})
    for status in statuses:
        meta.add(responses.GET, graph_url(CONTAINER), json={"status_code": status, "id": CONTAINER})
    meta.add(responses.POST, graph_url(f"{IG_ID}/media_publish"), json={"id": MEDIA})
    meta.add(
        responses.GET, graph_url(MEDIA), json={"permalink": "https://www.instagram.com/p/DNew/", "id": MEDIA}
    )


def calls_to(meta, method: str, path: str) -> list:
    return [
        c for c in meta.calls if c.request.method == method and c.request.url.split("?")[0] == graph_url(path)
    ]


def publish(client, **body):
    payload = {"accountId": IG_ID, "mediaType": "IMAGE", "mediaUrl": "https://cdn.example.com/a.jpg", **body}
    return client.post("/api/meta/instagram/media", payload, format="json")


def test_it_publishes_an_image_once_the_container_is_finished(alice_client, connected_ig, meta, worker):
    fake_meta(meta, "FINISHED")

    response = publish(alice_client, caption="Nueva colección")
    assert response.status_code == 202
    assert response.json()["data"]["status"] == "pending"
    worker.drain()

    row = MediaPublish.objects.get()
    assert row.status == "published" and row.media_id == MEDIA
    assert row.permalink == "https://www.instagram.com/p/DNew/"
    (create,) = calls_to(meta, "POST", f"{IG_ID}/media")
    body = parse_qs(create.request.body)
    assert body["image_url"] == ["https://cdn.example.com/a.jpg"] and body["caption"] == ["Nueva colección"]
    assert body["access_token"] == [PAGE_TOKEN]
    (published,) = calls_to(meta, "POST", f"{IG_ID}/media_publish")
    assert parse_qs(published.request.body)["creation_id"] == [CONTAINER]
    detail = alice_client.get(f"/api/meta/instagram/publishes/{row.pk}").json()["data"]
    assert detail["status"] == "published" and detail["mediaId"] == MEDIA


def test_it_keeps_polling_while_the_container_is_in_progress(alice_client, connected_ig, meta, worker):
    fake_meta(meta, "IN_PROGRESS", "IN_PROGRESS", "FINISHED")
    response = publish(alice_client, mediaType="REELS", mediaUrl="https://video.example.com/v.mp4")
    assert response.status_code == 202
    worker.drain()

    row = MediaPublish.objects.get()
    assert row.status == "published" and row.polls == 2
    assert len(calls_to(meta, "GET", CONTAINER)) == 3
    body = parse_qs(calls_to(meta, "POST", f"{IG_ID}/media")[0].request.body)
    assert body["media_type"] == ["REELS"] and body["video_url"] == ["https://video.example.com/v.mp4"]


@pytest.mark.parametrize("status", ["ERROR", "EXPIRED"])
def test_it_fails_without_publishing_when_the_container_errors(
    alice_client, connected_ig, meta, worker, status
):
    fake_meta(meta, status)
    publish(alice_client)
    worker.drain()
    row = MediaPublish.objects.get()
    assert row.status == "failed" and row.error["code"] == status
    assert calls_to(meta, "POST", f"{IG_ID}/media_publish") == []


def test_it_gives_up_when_meta_never_finishes(alice_client, connected_ig, meta, worker):
    fake_meta(meta, "IN_PROGRESS")
    publish(alice_client)
    worker.drain()
    row = MediaPublish.objects.get()
    assert row.status == "failed" and row.error["code"] == "TIMEOUT"


def test_it_stops_at_the_publishing_limit(alice_client, connected_ig, meta, worker):
    fake_meta(meta, "FINISHED", used=100)
    publish(alice_client)
    worker.drain()
    row = MediaPublish.objects.get()
    assert row.status == "failed" and row.error["code"] == "PUBLISHING_LIMIT"
    assert calls_to(meta, "POST", f"{IG_ID}/media") == []


def test_it_records_metas_error_when_the_container_is_refused(alice_client, connected_ig, meta, worker):
    meta.add(
        responses.GET,
        graph_url(f"{IG_ID}/content_publishing_limit"),
        json={"data": [{"quota_usage": 0, "config": {"quota_total": 100}}]},
    )
    meta.add(
        responses.POST,
        graph_url(f"{IG_ID}/media"),
        json=meta_error(9004, "Only photo or video can be accepted as media type.", subcode=2207052),
        status=400,
    )
    publish(alice_client)
    worker.drain()
    row = MediaPublish.objects.get()
    assert row.status == "failed" and row.error["code"] == 9004 and row.error["subcode"] == 2207052


def test_it_publishes_a_carousel_after_its_children(alice_client, connected_ig, meta, worker):
    meta.add(
        responses.GET,
        graph_url(f"{IG_ID}/content_publishing_limit"),
        json={"data": [{"quota_usage": 0, "config": {"quota_total": 100}}]},
    )
    for container in ("c1", "c2", "album"):
        meta.add(responses.POST, graph_url(f"{IG_ID}/media"), json={"id": container})
        meta.add(responses.GET, graph_url(container), json={"status_code": "FINISHED"})
    meta.add(responses.POST, graph_url(f"{IG_ID}/media_publish"), json={"id": MEDIA})
    meta.add(responses.GET, graph_url(MEDIA), json={"permalink": "https://www.instagram.com/p/DAlbum/"})

    urls = ["https://cdn.example.com/1.jpg", "https://video.example.com/2.mp4"]
    response = alice_client.post(
        "/api/meta/instagram/media",
        {"accountId": IG_ID, "mediaType": "CAROUSEL", "mediaUrls": urls, "caption": "Dos"},
        format="json",
    )
    assert response.status_code == 202
    worker.drain()

    creates = [parse_qs(c.request.body) for c in calls_to(meta, "POST", f"{IG_ID}/media")]
    assert creates[0]["is_carousel_item"] == ["true"] and creates[0]["image_url"] == [urls[0]]
    assert creates[1]["media_type"] == ["VIDEO"] and creates[1]["video_url"] == [urls[1]]
    assert creates[2]["media_type"] == ["CAROUSEL"] and creates[2]["children"] == ["c1,c2"]
    assert creates[2]["caption"] == ["Dos"]
    assert parse_qs(calls_to(meta, "POST", f"{IG_ID}/media_publish")[0].request.body)["creation_id"] == [
        "album"
    ]
    assert MediaPublish.objects.get().status == "published"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mediaUrl": "http://cdn.example.com/a.jpg"}, "mediaUrl"),
        ({"mediaUrl": "https://169.254.169.254/latest/meta-data/"}, "mediaUrl"),
        ({"mediaUrl": "https://10.0.0.5/a.jpg"}, "mediaUrl"),
        ({"mediaType": "GIF"}, "mediaType"),
        ({"mediaType": "REELS"}, "mediaUrl"),
        (
            {"mediaType": "CAROUSEL", "mediaUrl": None, "mediaUrls": ["https://cdn.example.com/1.jpg"]},
            "mediaUrls",
        ),
        ({"mediaUrl": None}, "mediaUrl"),
        ({"scheduledPublishTime": "2020-01-01T00:00:00Z"}, "scheduledPublishTime"),
    ],
)
def test_it_refuses_bad_publish_requests(alice_client, connected_ig, meta, body, field):
    payload = {"accountId": IG_ID, "mediaType": "IMAGE", "mediaUrl": "https://cdn.example.com/a.jpg", **body}
    payload = {k: v for k, v in payload.items() if v is not None}
    response = alice_client.post("/api/meta/instagram/media", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not MediaPublish.objects.exists() and len(meta.calls) == 0


@pytest.mark.django_db
def test_bob_cannot_publish_to_or_see_alices_account(bob_client, bob_ig_account, connected_ig, meta):
    assert publish(bob_client).status_code == 404
    row = MediaPublish.objects.create(ig_account=connected_ig, media_type="IMAGE", status="scheduled")
    assert bob_client.get(f"/api/meta/instagram/publishes/{row.pk}").status_code == 404
    assert bob_client.post(f"/api/meta/instagram/publishes/{row.pk}/cancel").status_code == 404
    assert bob_client.get("/api/meta/instagram/publishes").json()["data"]["publishes"] == []
    row.refresh_from_db()
    assert row.status == "scheduled" and len(meta.calls) == 0


def test_a_scheduled_publish_waits_then_fires_exactly_once(
    alice_client, connected_ig, meta, worker, monkeypatch
):
    fake_meta(meta, "FINISHED")
    delayed = []
    original_send = ig_publish_media.send_with_options
    # The broker "loses" the delayed message: we only record what would have been sent.
    monkeypatch.setattr(ig_publish_media, "send_with_options", lambda **kw: delayed.append(kw))
    when = timezone.now() + timedelta(minutes=5)

    response = publish(alice_client, scheduledPublishTime=when.isoformat())

    assert response.status_code == 202 and response.json()["data"]["status"] == "scheduled"
    row = MediaPublish.objects.get()
    (sent,) = delayed
    assert sent["args"] == (str(row.pk),) and 290_000 <= sent["delay"] <= 300_000
    assert publish_step(publish_pk=str(row.pk)) == "not due"  # an early message changes nothing
    ig_sweep_publishes.send()
    worker.drain()
    assert len(meta.calls) == 0

    # Time passes; the periodic sweep finds the due row and a late duplicate of the original
    # message arrives too.
    monkeypatch.setattr(ig_publish_media, "send_with_options", original_send)
    MediaPublish.objects.filter(pk=row.pk).update(
        scheduled_publish_time=timezone.now() - timedelta(seconds=1)
    )
    ig_sweep_publishes.send()
    ig_publish_media.send(str(row.pk))
    worker.drain()

    row.refresh_from_db()
    assert row.status == "published"
    assert len(calls_to(meta, "POST", f"{IG_ID}/media_publish")) == 1
    assert len(calls_to(meta, "POST", f"{IG_ID}/media")) == 1


@pytest.mark.django_db
def test_it_cancels_a_scheduled_publish(alice_client, connected_ig):
    row = MediaPublish.objects.create(
        ig_account=connected_ig, media_type="IMAGE", status="scheduled", scheduled_publish_time=timezone.now()
    )
    assert (
        alice_client.post(f"/api/meta/instagram/publishes/{row.pk}/cancel").json()["data"]["status"]
        == "cancelled"
    )
    assert publish_step(publish_pk=str(row.pk)) == "cancelled"
    assert alice_client.post(f"/api/meta/instagram/publishes/{row.pk}/cancel").status_code == 400


def test_it_retries_the_publish_when_meta_says_the_media_is_not_ready(
    alice_client, connected_ig, meta, worker
):
    fake_meta(meta, "FINISHED", "FINISHED")
    meta.replace(
        responses.POST,
        graph_url(f"{IG_ID}/media_publish"),
        json=meta_error(9007, "Media ID is not available"),
        status=400,
    )
    meta.add(responses.POST, graph_url(f"{IG_ID}/media_publish"), json={"id": MEDIA})
    publish(alice_client)
    worker.drain()
    row = MediaPublish.objects.get()
    assert row.status == "published" and row.media_id == MEDIA
    assert len(calls_to(meta, "POST", f"{IG_ID}/media_publish")) == 2


def test_a_due_publish_fails_when_the_account_was_revoked_meanwhile(alice_client, connected_ig, meta, worker):
    fake_meta(meta, "FINISHED")
    row = MediaPublish.objects.create(
        ig_account=connected_ig,
        media_type="IMAGE",
        media_urls=["https://cdn.example.com/a.jpg"],
        status="scheduled",
        scheduled_publish_time=timezone.now(),
    )
    connected_ig.account.status = "revoked"
    connected_ig.account.save()
    ig_publish_media.send(str(row.pk))
    worker.drain()
    row.refresh_from_db()
    assert row.status == "failed" and row.error["code"] == "ACCOUNT_NOT_CONNECTED"
    assert len(meta.calls) == 0


@pytest.mark.django_db
def test_the_sweep_revives_only_stalled_or_due_publishes(connected_ig):
    from instagram.services import publish_sweep

    now = timezone.now()

    def row(status: str, *, age: timedelta, when=None) -> MediaPublish:
        publish = MediaPublish.objects.create(
            ig_account=connected_ig, media_type="IMAGE", status=status, scheduled_publish_time=when
        )
        MediaPublish.objects.filter(pk=publish.pk).update(updated_at=now - age)
        return publish

    due = row("scheduled", age=timedelta(days=1), when=now - timedelta(seconds=5))
    row("scheduled", age=timedelta(days=1), when=now + timedelta(hours=1))
    stalled = row("processing", age=timedelta(minutes=6))
    row("processing", age=timedelta(seconds=10))  # a live poll chain: left alone
    interrupted = row("publishing", age=timedelta(hours=2))
    row("published", age=timedelta(days=2))

    assert set(publish_sweep(now=now)) == {str(due.pk), str(stalled.pk)}
    interrupted.refresh_from_db()
    assert interrupted.status == "failed" and interrupted.error["code"] == "INTERRUPTED"
