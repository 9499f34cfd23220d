"""The staff list: supervisors and administrators pick clinicians from it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.roles import Role
from tests.api.conftest import ids
from tests.factories import UserFactory

LIST_URL = "/api/v1/staff/"


def detail_url(user) -> str:
    return f"/api/v1/staff/{user.id}/"


@pytest.mark.parametrize(
    ("role", "endpoint", "expected"),
    [
        ("anonymous", "list", 401),
        ("anonymous", "retrieve", 401),
        ("front_desk", "list", 403),
        ("front_desk", "retrieve", 403),
        ("clinician", "list", 403),
        ("clinician", "retrieve", 403),
        ("supervisor", "list", 200),
        ("supervisor", "retrieve", 200),
        ("administrator", "list", 200),
        ("administrator", "retrieve", 200),
    ],
)
def test_role_gets_the_expected_status(as_user, users, role, endpoint, expected):
    url = LIST_URL if endpoint == "list" else detail_url(users["clinician"])

    response = as_user(role).get(url)

    assert response.status_code == expected


@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_staff_list_is_read_only(as_user, users, method):
    response = getattr(as_user("administrator"), method)(
        detail_url(users["clinician"]) if method != "post" else LIST_URL, {"username": "x"}, format="json"
    )

    assert response.status_code == 405


@pytest.mark.parametrize("role", ["supervisor", "administrator"])
def test_staff_list_shows_every_member_with_their_roles(as_user, users, role):
    response = as_user(role).get(LIST_URL)

    body = response.json()
    assert body["count"] == 4
    by_username = {row["username"]: row for row in body["results"]}
    for code in ("front_desk", "clinician", "supervisor", "administrator"):
        user = users[code]
        assert by_username[user.username] == {
            "id": str(user.id),
            "username": user.username,
            "full_name": f"{user.first_name} {user.last_name}",
            "credentials": "",
            "roles": [code],
            "is_active": True,
        }


def test_the_staff_list_shows_credentials_read_only(as_user, users):
    users["clinician"].credentials = "LCAC"
    users["clinician"].save()

    body = as_user("supervisor").get(LIST_URL).json()
    assert {row["username"]: row["credentials"] for row in body["results"]}[
        users["clinician"].username
    ] == "LCAC"
    assert (
        as_user("administrator").patch(detail_url(users["clinician"]), {"credentials": "MD"}).status_code
        == 405
    )


def test_staff_member_with_several_roles_lists_them_all(as_user, users):
    director = UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR])

    response = as_user("administrator").get(detail_url(director))

    assert response.json()["roles"] == ["administrator", "supervisor"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("clinician", {"clinician", "other_clinician"}),
        ("supervisor", {"supervisor", "director"}),
        ("administrator", {"administrator", "director"}),
        ("front_desk", {"front_desk"}),
    ],
)
def test_role_filter(as_user, users, other_clinician, role, expected):
    people = {
        **users,
        "other_clinician": other_clinician,
        "director": UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR]),
    }

    response = as_user("supervisor").get(LIST_URL, {"role": role})

    assert ids(response) == {str(people[key].id) for key in expected}


def test_unknown_role_is_a_400_naming_the_filter(as_user, users):
    response = as_user("supervisor").get(LIST_URL, {"role": "surgeon"})

    assert response.status_code == 400
    assert "role" in response.json()


@pytest.mark.parametrize(("value", "expected_active"), [("true", True), ("false", False)])
def test_is_active_filter(as_user, users, value, expected_active):
    retired = UserFactory(roles=[Role.CLINICIAN], is_active=False)

    response = as_user("supervisor").get(LIST_URL, {"is_active": value})

    rows = response.json()["results"]
    assert {row["is_active"] for row in rows} == {expected_active}
    assert (str(retired.id) in ids(response)) is not expected_active


# Query counts: the bound holds for 5 staff and for 60.

LIST_QUERIES = 4  # requester's groups, count, page, groups of the page
DETAIL_QUERIES = 3  # requester's groups, member, member's groups


@pytest.mark.parametrize("extra", [1, 56])
def test_staff_list_query_count_does_not_grow_with_rows(as_user, users, extra, django_assert_max_num_queries):
    UserFactory.create_batch(extra, roles=[Role.CLINICIAN, Role.SUPERVISOR])
    client = as_user("supervisor")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"page_size": 60})

    assert len(response.json()["results"]) == 4 + extra


def test_staff_list_query_bound_is_tight(as_user, users):
    client = as_user("supervisor")

    with CaptureQueriesContext(connection) as listing:
        client.get(LIST_URL)
    client = as_user("supervisor")
    with CaptureQueriesContext(connection) as detail:
        client.get(detail_url(users["clinician"]))

    assert (len(listing), len(detail)) == (LIST_QUERIES, DETAIL_QUERIES)


@pytest.mark.parametrize("roles", [1, 4])
def test_staff_detail_query_count_does_not_grow_with_roles(
    as_user, users, roles, django_assert_max_num_queries
):
    member = UserFactory(roles=list(Role)[:roles])
    client = as_user("administrator")

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail_url(member))

    assert len(response.json()["roles"]) == roles
