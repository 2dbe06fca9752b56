import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import MetaAccount
from tests.factories import make_account

TOKEN = "EAAGm0PX4ZCpsBAplaintexttoken1234567890"


def raw_token(account: MetaAccount) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM accounts_metaaccount WHERE id = %s", [account.pk.hex])
        row = cursor.fetchone()
    if row is None:  # PostgreSQL stores the uuid natively
        with connection.cursor() as cursor:
            cursor.execute("SELECT access_token FROM accounts_metaaccount WHERE id = %s", [account.pk])
            row = cursor.fetchone()
    return row[0]


@pytest.fixture
def account(alice):
    return make_account(alice, access_token=TOKEN)


def test_it_stores_no_plaintext_in_the_column(account):
    stored = raw_token(account)
    assert TOKEN not in stored
    assert "EAAG" not in stored
    assert MetaAccount.objects.get(pk=account.pk).access_token == TOKEN


def test_it_masks_the_token_for_display(account):
    assert account.token_preview == "EAAG…890"


def test_it_decrypts_with_an_old_key_and_rotates_to_the_new_one(account, settings, capsys):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert MetaAccount.objects.get(pk=account.pk).access_token == TOKEN  # old key still decrypts

    call_command("rotate_encryption_keys")
    assert "1/1 rows checked, 1 re-encrypted" in capsys.readouterr().out
    assert Fernet(new_key.encode()).decrypt(raw_token(account).encode()).decode() == TOKEN

    call_command("rotate_encryption_keys")  # re-running finds nothing left to do
    assert "1/1 rows checked, 0 re-encrypted" in capsys.readouterr().out

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert MetaAccount.objects.get(pk=account.pk).access_token == TOKEN


def test_it_loads_a_row_no_key_decrypts_names_the_fix_and_keeps_the_token(account, settings, caplog):
    from botopia_meta.fields import is_undecryptable

    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    loaded = MetaAccount.objects.get(pk=account.pk)
    assert loaded.access_token == "" and is_undecryptable(loaded.access_token)
    assert "FIELD_ENCRYPTION_KEYS" in caplog.text and "MetaAccount.access_token" in caplog.text
    stored = raw_token(account)
    loaded.save()  # writes the stored token back as it was
    assert raw_token(account) == stored
    settings.FIELD_ENCRYPTION_KEYS = [old_key]  # the key restored: the token is back
    assert MetaAccount.objects.get(pk=account.pk).access_token == TOKEN


@pytest.fixture
def key_removed(alice, settings, meta):
    """Alice's world written with the current key, then that key dropped from the list."""
    from tests.fake_graph import FakeGraph
    from tests.world import build_world

    world = build_world(alice, base=1)
    FakeGraph(waba=world.waba.waba_id, phones=[world.phone.phone_number_id]).install(meta)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return world


def _marked(world) -> None:
    from accounts.models import Notification

    account = MetaAccount.objects.get(pk=world.account.pk)
    assert account.needs_reauth and account.status == "expired"
    assert Notification.objects.filter(account=account, kind="token_expired").count() == 1


def test_an_unknown_key_on_the_status_path_marks_the_account_not_a_500(alice_client, key_removed):
    response = alice_client.get("/api/meta/auth/status")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["needsReauth"] is True and data["connected"] is False and data["tokenPreview"] is None
    _marked(key_removed)
    alice_client.get("/api/meta/auth/status")
    _marked(key_removed)  # one notification, however often it is asked


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/meta/auth/refresh-token"),
        ("post", "/api/meta/whatsapp/account/refresh"),
        ("post", "/api/meta/whatsapp/templates/sync"),
    ],
)
def test_an_unknown_key_on_an_account_path_answers_401_and_marks_the_account(
    alice_client, key_removed, meta, method, url
):
    body = {"accountId": str(key_removed.account.pk)}
    response = getattr(alice_client, method)(url, body, format="json")
    assert response.status_code in (401, 409), response.content
    _marked(key_removed)
    assert not meta.calls


def test_an_unknown_key_on_the_webhook_paths_is_not_a_500(client, alice_client, key_removed):
    config = alice_client.get("/api/meta/webhook")
    assert config.status_code == 200, config.content
    handshake = client.get(
        "/api/meta/webhook/events",
        {"hub.mode": "subscribe", "hub.verify_token": "anything-at-all", "hub.challenge": "123"},
    )
    assert handshake.status_code == 403
