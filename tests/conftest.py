"""Shared fixtures: one user per role, and a clinician's caseload patient next to one outside it."""

import pytest
from django.db import connection

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
