"""A database too busy to answer (a lock wait or a statement timed out, a serialization failure, a deadlock) is a
503 `busy` with Retry-After, never a 500, from the API and the pages alike (clinic.errors.database_failure decides
for both); and PostgreSQL connections carry the timeouts from settings."""

import json
import os
import subprocess
import sys
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from cases.models import Case
from tests.factories import CaseFactory


class _DriverError(Exception):
    """What psycopg raises under Django's wrapper: an error carrying its SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _database_error(sqlstate: str) -> OperationalError:
    error = OperationalError("canceling statement")
    error.__cause__ = _DriverError(sqlstate)
    return error


@pytest.mark.parametrize("sqlstate", ["55P03", "57014", "40001", "40P01"])
def test_a_busy_database_answers_503_busy_with_retry_after(as_user, own_case, sqlstate):
    client = as_user("clinician")
    with mock.patch("api.views.cases.case_transition", side_effect=_database_error(sqlstate)):
        response = client.post(
            f"/api/v1/cases/{own_case.pk}/transition/", {"to_stage": "assessment"}, format="json"
        )

    assert response.status_code == 503
    assert response.json()["code"] == "busy"
    assert response["Retry-After"] == str(settings.RETRY_AFTER_SECONDS)


def test_other_database_errors_are_not_disguised_as_busy(as_user, own_case):
    client = as_user("clinician")
    with mock.patch("api.views.cases.case_transition", side_effect=_database_error("XX000")):
        response = client.post(
            f"/api/v1/cases/{own_case.pk}/transition/", {"to_stage": "assessment"}, format="json"
        )

    assert (response.status_code, response.json()["code"]) == (503, "database_unavailable")


def test_a_bug_is_still_a_bug(as_user, own_case):
    client = as_user("clinician")
    client.raise_request_exception = True
    with (
        mock.patch("api.views.cases.case_transition", side_effect=RuntimeError("a bug")),
        pytest.raises(RuntimeError),
    ):
        client.post(f"/api/v1/cases/{own_case.pk}/transition/", {"to_stage": "assessment"}, format="json")


def test_production_postgres_connections_carry_statement_lock_idle_and_connect_timeouts():
    """Read from clinic.settings in a fresh interpreter (the test settings relax them: see settings_test.py)."""
    script = (
        "import json, clinic.settings as s; o = s.DATABASES['default']['OPTIONS'];"
        "print(json.dumps([o['options'], o['connect_timeout']]))"
    )
    env = {**os.environ, "DATABASE_URL": "postgres://u@127.0.0.1:5432/x", "SECRET_KEY": "x" * 60}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)  # noqa: S603

    assert json.loads(out.stdout) == [
        "-c statement_timeout=30000 -c lock_timeout=5000 -c idle_in_transaction_session_timeout=10000",
        5,
    ]


@pytest.mark.postgres
def test_postgres_connections_carry_the_configured_timeouts(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "30s"  # settings_test.py


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("entry", ["api", "page"])
def test_a_write_that_waits_past_the_lock_timeout_is_the_same_503_busy_from_the_api_and_the_page(
    clinician, entry
):
    case = CaseFactory(primary_clinician=clinician)
    locked, release = threading.Event(), threading.Event()

    def holder():  # another session holding the case row (FOR UPDATE conflicts even with FOR NO KEY UPDATE)
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=case.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        if entry == "api":
            api = APIClient()
            api.force_authenticate(user=clinician)
            response = api.post(
                f"/api/v1/cases/{case.pk}/transition/", {"to_stage": "assessment"}, format="json"
            )
        else:
            page = Client(raise_request_exception=False)
            page.force_login(clinician)
            response = page.post(
                f"/cases/{case.pk}/transition/", {"to_stage": "assessment", "version": case.version}
            )
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert (response.status_code, response["Retry-After"]) == (503, str(settings.RETRY_AFTER_SECONDS))
    if entry == "api":
        assert response.json()["code"] == "busy"
    else:
        assert "The system is busy; try again in a moment." in response.content.decode()
    case.refresh_from_db()
    assert case.stage == "intake"
