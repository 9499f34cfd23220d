"""Liveness and readiness probes: /healthz needs nothing but the process, /readyz names what is not ready."""

import time
from unittest import mock

import pytest
from django.db import OperationalError

from clinic import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_ok_while_the_database_is_down(client, database_down):
    database_down()

    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_whatever_the_host_header(client, path):
    response = client.get(path, HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_plain_http_even_when_https_is_enforced(client, settings, path):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(path).status_code == 200


def test_readyz_reports_each_check(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "audit_sealer": "ok",
        "cache": "ok",
    }


def test_readyz_is_503_naming_the_database_when_it_is_down(client, database_down):
    database_down()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"] == {
        "database": "unavailable",
        "migrations": "unknown",
        "audit_sealer": "unknown",
        "cache": "ok",
    }


def test_readyz_is_503_while_a_migration_is_not_applied(client, monkeypatch):
    monkeypatch.setattr(
        health, "_migrations_on_disk", {*health._expected_migrations(), ("cases", "9999_next")}
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "1 not applied"


def test_readyz_is_503_while_an_audit_event_waits_unsealed_too_long(client, clinician):
    import datetime as dt

    from django.utils import timezone

    from clinic.audit import audit_record

    audit_record(user=clinician, action="view", object_type="patient", object_id="x")
    later = timezone.now() + dt.timedelta(seconds=61)

    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["audit_sealer"].startswith("61 s behind")


@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_again_once_the_sealer_has_sealed(client, clinician):
    # Committed data: on PostgreSQL the sealer never seals an event of a transaction still open, as the test's
    # own would be in an ordinary (rolled-back) test.
    import datetime as dt

    from django.utils import timezone

    from clinic.audit import audit_record, seal_pending

    audit_record(user=clinician, action="view", object_type="patient", object_id="x")
    seal_pending()
    later = timezone.now() + dt.timedelta(seconds=61)

    with mock.patch("django.utils.timezone.now", return_value=later):
        response = client.get("/readyz")

    assert response.json()["checks"]["audit_sealer"] == "ok"


def test_readyz_is_503_when_the_cache_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(health.cache, "set", broken)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unavailable"


def test_probes_refuse_writes(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_each_probe_answers_in_under_50_ms(client, path):
    client.get(path)  # the first readiness check reads the migrations from disk once per process
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        timings.append(time.perf_counter() - started)

    assert sorted(timings)[len(timings) // 2] < 0.050, timings


def test_a_probe_writes_no_audit_event_and_no_session(client):
    from clinic.models import AuditEvent

    response = client.get("/readyz")

    assert response.status_code == 200
    assert AuditEvent.objects.count() == 0
    assert "sessionid" not in response.cookies


def test_the_database_check_raises_what_the_database_raises(database_down):
    database_down()

    with pytest.raises(OperationalError):
        health.check_database()
