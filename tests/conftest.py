"""Shared fixtures: one user per role, a clinician's caseload patient next to one outside it, and the clients: the
API's (`api`, `as_user`) and the pages' (`signed_in`)."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from clinic.models import User
from clinic.roles import Role
from tests.factories import CaseFactory, UserFactory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need real row locks and concurrent connections; they run when DATABASE_URL does."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _uses_committed_data(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))


def empty_audit_tables() -> None:
    """Empty the append-only audit tables with their triggers lifted for the moment (the flush that follows a test
    on committed data would otherwise be refused: SQLite's DELETE by the row triggers, PostgreSQL's TRUNCATE by
    the statement trigger, which lets an empty table through)."""
    from django.db import transaction

    from clinic.migrations import _append_only as triggers

    empty = ["DELETE FROM clinic_auditseal", "DELETE FROM clinic_auditevent"]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            lift = [f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in (triggers.TABLE, triggers.SEAL_TABLE)]
            restore = [f"ALTER TABLE {t} ENABLE TRIGGER USER" for t in (triggers.TABLE, triggers.SEAL_TABLE)]
        else:
            lift = triggers.SQLITE_DOWN + triggers.SEAL_SQLITE_DOWN
            restore = triggers.SQLITE_UP + triggers.SEAL_SQLITE_UP
        for statement in lift + empty + restore:
            cursor.execute(statement)


@pytest.fixture(autouse=True)
def flushable_audit_tables(request: pytest.FixtureRequest):
    """Tests on committed data end with a flush of every table: empty the audit tables first."""
    if not _uses_committed_data(request):
        yield
        return
    if "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")  # so that this fixture's teardown runs before the flush
    yield
    empty_audit_tables()


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Each test starts with no throttle counts (they live in the cache, which outlives a test; the lockout's
    failure counts live in the database and roll back with it)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def front_desk(db):
    return UserFactory(username="frontdesk", roles=[Role.FRONT_DESK])


@pytest.fixture
def clinician(db):
    return UserFactory(username="clinician", roles=[Role.CLINICIAN])


@pytest.fixture
def other_clinician(db):
    return UserFactory(username="otherclinician", roles=[Role.CLINICIAN])


@pytest.fixture
def supervisor(db):
    return UserFactory(username="supervisor", roles=[Role.SUPERVISOR])


@pytest.fixture
def administrator(db):
    return UserFactory(username="administrator", roles=[Role.ADMINISTRATOR])


@pytest.fixture
def own_case(clinician):
    """An open case on which `clinician` is the primary clinician."""
    return CaseFactory(primary_clinician=clinician)


@pytest.fixture
def other_case(other_clinician):
    """An open case belonging to another clinician's caseload."""
    return CaseFactory(primary_clinician=other_clinician)


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def superuser(db):
    """An operations account: superuser, no clinic role."""
    return UserFactory(username="superuser", is_superuser=True)


@pytest.fixture
def clock(monkeypatch):
    """Stops the clinic's clock: `clock(moment)` makes `django.utils.timezone.now()` answer `moment` until it is set
    again (the services read the time there; the attendance rules are about clinic days and minutes)."""
    from django.utils import timezone

    def set_to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


# --- Clients: the API's (`as_user`) and the pages' (`signed_in`), for tests/api, tests/web and tests/release -------


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def users(front_desk, clinician, supervisor, administrator) -> dict[str, User | None]:
    """One user per role, and `anonymous` (no credentials)."""
    return {
        "front_desk": front_desk,
        "clinician": clinician,
        "supervisor": supervisor,
        "administrator": administrator,
        "anonymous": None,
    }


@pytest.fixture
def as_user(api, users):
    """`as_user(user_or_role)` returns the client authenticated as that user (a role name, or `anonymous`).

    The user is read afresh from the database, as each real request does, so that role lookups are counted.
    """

    def authenticate(who: User | str | None) -> APIClient:
        user = users[who] if isinstance(who, str) else who
        api.force_authenticate(user=None if user is None else User.objects.get(pk=user.pk))
        return api

    return authenticate


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    """`signed_in(user)` -> the test client with that user's session."""

    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in
