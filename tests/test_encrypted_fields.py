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


def test_it_names_the_fix_when_no_key_decrypts(account, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="FIELD_ENCRYPTION_KEYS"):
        MetaAccount.objects.get(pk=account.pk).access_token  # noqa: B018
