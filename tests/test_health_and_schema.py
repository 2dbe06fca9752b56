import json
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError


@pytest.mark.django_db
def test_it_answers_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["10.0.3.17", "10.0.3.17:8000", "[fd00::5]", "internal-lb.local"])
def test_it_answers_healthz_and_readyz_whatever_the_host(client, settings, host):
    """A load balancer probes by IP, which is not in ALLOWED_HOSTS."""
    settings.ALLOWED_HOSTS = ["api.botopia.io"]
    assert client.get("/healthz", HTTP_HOST=host).json() == {"status": "ok"}
    assert client.get("/readyz", HTTP_HOST=host).json() == {"status": "ok"}
    assert client.get("/api/meta/auth/status", HTTP_HOST=host).status_code == 400  # the rest: checked


@pytest.mark.django_db
def test_it_names_the_failing_part_in_readyz(client):
    with mock.patch("botopia_meta.health._check_database", side_effect=OperationalError("down")):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == {"database": "OperationalError"}


@pytest.mark.django_db
def test_it_generates_the_openapi_schema_without_warnings(tmp_path):
    out = tmp_path / "schema.json"
    call_command(
        "spectacular", "--fail-on-warn", "--validate", "--format", "openapi-json", "--file", str(out)
    )
    schema = json.loads(out.read_text())
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    token = schema["paths"]["/api/auth/token"]["post"]
    ok = token["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(ok["properties"]) == {"success", "data"}


@pytest.mark.django_db
def test_it_serves_the_schema_and_docs_to_users_only(client, alice_client):
    assert client.get("/api/schema/").status_code == 401
    assert alice_client.get("/api/schema/").status_code == 200
    docs = alice_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()  # Swagger UI assets are served locally
