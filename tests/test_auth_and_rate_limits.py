import pytest

from tests.test_api_conventions import assert_error

pytestmark = [pytest.mark.urls("tests.probe_urls"), pytest.mark.django_db]


def test_it_trades_credentials_for_a_token_that_authenticates(anon_client, alice):
    response = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "alice-password-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["data"]["token"]
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon_client.get("/api/test/users").status_code == 200


def test_it_gives_no_hint_which_credential_was_wrong(anon_client, alice):
    wrong_password = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "x"}, format="json"
    )
    unknown_user = anon_client.post("/api/auth/token", {"username": "nobody", "password": "x"}, format="json")
    assert assert_error(wrong_password, 400, "INVALID_CREDENTIALS") == assert_error(
        unknown_user, 400, "INVALID_CREDENTIALS"
    )


def test_it_rate_limits_password_guessing_per_ip(anon_client, alice, settings):
    settings.API_RATE_LIMIT_LOGIN = "3/m"
    for _ in range(3):
        anon_client.post("/api/auth/token", {"username": "alice", "password": "guess"}, format="json")
    response = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "alice-password-123"}, format="json"
    )
    error = assert_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1
    assert error["details"]["retryAfter"] >= 1


def test_it_rate_limits_each_user_separately(alice_client, bob_client, settings):
    settings.API_RATE_LIMIT_USER = "2/m"
    assert alice_client.get("/api/test/users").status_code == 200
    assert alice_client.get("/api/test/users").status_code == 200
    assert_error(alice_client.get("/api/test/users"), 429, "RATE_LIMITED")
    assert bob_client.get("/api/test/users").status_code == 200


def test_it_rate_limits_anonymous_callers_per_ip(anon_client, settings):
    settings.API_RATE_LIMIT_ANON = "2/m"
    anon_client.get("/api/test/users")
    anon_client.get("/api/test/users")
    assert_error(anon_client.get("/api/test/users"), 429, "RATE_LIMITED")
    other_ip = anon_client.get("/api/test/users", REMOTE_ADDR="10.9.8.7")
    assert_error(other_ip, 401, "AUTHENTICATION_REQUIRED")
