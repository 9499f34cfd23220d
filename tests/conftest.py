"""Shared fixtures: one user per role, a clinician's caseload patient next to one outside it, and the clients: the
API's (`api`, `as_user`) and the pages' (`signed_in`)."""

import copy
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from clinic.models import User
from tests.builders import SharedRows, build_shared_rows, role_user, rows_for_the_scope
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


@pytest.fixture(scope="module", autouse=True)
def rows_built_once(request: pytest.FixtureRequest):
    """In a module marked `rows_built_once` (`pytestmark = pytest.mark.rows_built_once(records=True)`): the role
    users, `clinic` (unless `clinic=False`) and `records` (if `records=True`) built once for the module, rolled back
    after it (tests/builders.py `rows_for_the_scope`). Every test of such a module sees them, whatever fixtures it
    asks for, and gets its own deep copy through `shared_rows`. Elsewhere: None, and each test builds its own."""
    marker = request.node.get_closest_marker("rows_built_once")
    if marker is None:
        yield None
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with rows_for_the_scope(blocker, lambda: build_shared_rows(**marker.kwargs)) as rows:
        yield rows


@pytest.fixture
def shared_rows(request: pytest.FixtureRequest, rows_built_once, db) -> SharedRows | None:
    """This test's copy of the module's rows (one deep copy, so that `clinic.own_case.primary_clinician` is
    `clinician`), or None in a module that builds per test. Its writes roll back with the test's savepoint."""
    if rows_built_once is None:
        return None
    if _uses_committed_data(request):
        pytest.fail("a test on committed data cannot share rows built once: move it out of the marked module")
    return copy.deepcopy(rows_built_once)


@pytest.fixture
def front_desk(shared_rows):
    return shared_rows.users["front_desk"] if shared_rows else role_user("front_desk")


@pytest.fixture
def clinician(shared_rows):
    return shared_rows.users["clinician"] if shared_rows else role_user("clinician")


@pytest.fixture
def other_clinician(shared_rows):
    return shared_rows.users["other_clinician"] if shared_rows else role_user("other_clinician")


@pytest.fixture
def supervisor(shared_rows):
    return shared_rows.users["supervisor"] if shared_rows else role_user("supervisor")


@pytest.fixture
def administrator(shared_rows):
    return shared_rows.users["administrator"] if shared_rows else role_user("administrator")


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
