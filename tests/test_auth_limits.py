"""Guessing credentials is limited (issue #17, point 4): admin logins per IP and per username,
failed API tokens per IP, and one 401 for every bad credential."""

import secrets

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token

from tests.test_api_conventions import assert_error

pytestmark = [pytest.mark.urls("tests.probe_urls"), pytest.mark.django_db]


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(username="dora", password="dora-password-123", is_staff=True)


def _admin_login(password: str, *, username: str = "dora", ip: str = "127.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return client


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_it_logs_staff_into_the_admin_with_the_right_password(staff):
    assert _logged_in(_admin_login("dora-password-123"))


def test_it_refuses_the_right_admin_password_after_thirty_wrong_ones(staff):
    for _ in range(30):
        assert not _logged_in(_admin_login("guess"))
    assert not _logged_in(_admin_login("dora-password-123"))


def test_it_limits_admin_logins_per_username_across_ips(staff, settings):
    settings.AUTH_FAILURE_LIMIT_IP = "1000/m"
    for i in range(10):
        _admin_login("guess", ip=f"10.0.0.{i}")
    assert not _logged_in(_admin_login("dora-password-123", ip="10.0.1.1"))


def test_it_limits_admin_logins_per_ip_across_usernames(staff, settings):
    settings.AUTH_FAILURE_LIMIT_USERNAME = "1000/m"
    for i in range(20):
        _admin_login("guess", username=f"user{i}", ip="10.0.0.9")
    assert not _logged_in(_admin_login("dora-password-123", ip="10.0.0.9"))
    assert _logged_in(_admin_login("dora-password-123", ip="10.0.0.10"))


def test_it_answers_429_to_the_token_endpoint_once_a_username_is_blocked(anon_client, alice, settings):
    settings.AUTH_FAILURE_LIMIT_USERNAME = "3/m"
    for i in range(3):
        anon_client.post(
            "/api/auth/token",
            {"username": "alice", "password": "x"},
            format="json",
            REMOTE_ADDR=f"10.1.0.{i}",
        )
    response = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "alice-password-123"}, format="json"
    )
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1


def test_it_answers_429_after_too_many_invalid_tokens_from_one_ip(anon_client, alice):
    answers = []
    for _ in range(80):
        anon_client.credentials(HTTP_AUTHORIZATION=f"Token {secrets.token_hex(20)}")
        answers.append(anon_client.get("/api/test/users"))
    assert {r.status_code for r in answers[:20]} == {401}
    error = assert_error(answers[-1], 429, "RATE_LIMITED")
    assert int(answers[-1]["Retry-After"]) >= 1
    assert error["details"]["retryAfter"] >= 1
    # Another IP with a valid token is not affected.
    anon_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    assert anon_client.get("/api/test/users", REMOTE_ADDR="10.2.0.1").status_code == 200


def test_it_answers_the_same_401_for_every_bad_token(anon_client, alice):
    inactive = get_user_model().objects.create_user(
        username="gone", password="gone-password-123", is_active=False
    )
    headers = [
        f"Token {Token.objects.create(user=inactive).key}",  # DRF said "User inactive or deleted."
        f"Token {secrets.token_hex(20)}",  # "Invalid token."
        "Token",  # "Invalid token header. No credentials provided."
        "Token a b",  # "... should not contain spaces."
    ]
    errors = []
    for header in headers:
        anon_client.credentials(HTTP_AUTHORIZATION=header)
        errors.append(assert_error(anon_client.get("/api/test/users"), 401, "AUTHENTICATION_REQUIRED"))
    assert all(error == errors[0] for error in errors), errors
    assert "inactive" not in errors[0]["message"].lower()


def test_it_still_authenticates_when_the_counters_cache_is_down(anon_client, alice, monkeypatch):
    def redis_down(*args, **kwargs):
        raise RedisError("Connection refused")

    monkeypatch.setattr("botopia_meta.auth_limits.get_usage", redis_down)
    anon_client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert_error(anon_client.get("/api/test/users"), 401, "AUTHENTICATION_REQUIRED")
    response = anon_client.post(
        "/api/auth/token", {"username": "alice", "password": "alice-password-123"}, format="json"
    )
    assert response.status_code == 200
