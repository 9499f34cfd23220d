"""A request's user comes with the user's roles in one query, read afresh on every request; API reads stay at six
queries or fewer, the audit insert included (issue 13)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from clinic.backends import ClinicBackend, user_with_roles
from clinic.roles import Role
from tests.factories import UserFactory, VisitFactory

pytestmark = pytest.mark.django_db

SIX = 6


def test_a_user_and_every_role_load_in_one_query(django_assert_num_queries):
    user = UserFactory(roles=[Role.CLINICIAN, Role.SUPERVISOR])

    with django_assert_num_queries(1):
        loaded = user_with_roles(user.pk)
        assert loaded.roles == {Role.CLINICIAN, Role.SUPERVISOR}

    assert loaded.pk == user.pk


def test_a_user_without_roles_loads_with_none(django_assert_num_queries):
    user = UserFactory(roles=[])

    with django_assert_num_queries(1):
        assert user_with_roles(user.pk).roles == frozenset()


def test_an_inactive_or_unknown_user_is_not_signed_in():
    inactive = UserFactory(roles=[Role.CLINICIAN], is_active=False)

    assert ClinicBackend().get_user(inactive.pk) is None
    assert ClinicBackend().get_user("00000000-0000-0000-0000-000000000000") is None


def test_a_revoked_role_takes_effect_at_the_next_request(client, clinician):
    client.force_login(clinician)
    assert client.get("/api/v1/me/").json()["roles"] == ["clinician"]

    clinician.groups.remove(Group.objects.get(name=Role.CLINICIAN))

    assert client.get("/api/v1/me/").json()["roles"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/?page_size=50",
        "/api/v1/cases/{case}/",
        "/api/v1/visits/?case={case}",
        "/api/v1/visits/{visit}/",
    ],
    ids=["patient list", "case detail", "visit list", "visit detail"],
)
def test_a_signed_in_read_takes_six_queries_or_fewer_audit_included(
    client, clinician, own_case, path, django_assert_max_num_queries
):
    visit = VisitFactory(case=own_case, clinician=clinician)
    client.force_login(clinician)
    url = path.format(case=own_case.pk, visit=visit.pk)
    # SQLite probes its JSON support once per connection (SELECT JSON(...)): a start-up cost, not a request's.
    assert connection.features.supports_json_field

    with django_assert_max_num_queries(SIX):
        response = client.get(url)

    assert response.status_code == 200
