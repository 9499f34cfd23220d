"""Authentication: expiring tokens stored as digests, logout, and `me/`."""

import datetime as dt

import pytest
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from clinic.roles import Role
from tests.api.conftest import PASSWORD, ROLES
from tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"


def obtain_token(api, username: str, password: str = PASSWORD):
    return api.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def use_token(api, token: str):
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


@pytest.mark.parametrize("role", ROLES)
def test_every_role_exchanges_its_password_for_a_token(api, users, role):
    response = obtain_token(api, users[role].username)

    assert response.status_code == 200
    assert set(response.json()) == {"token", "expires_at"}
    assert AuthToken.objects.filter(user=users[role]).count() == 1


def test_token_expires_after_eight_hours(api, clinician):
    before = timezone.now()

    response = obtain_token(api, clinician.username)

    expires_at = dt.datetime.fromisoformat(response.json()["expires_at"])
    assert before + dt.timedelta(hours=8) <= expires_at <= timezone.now() + dt.timedelta(hours=8)
    assert AuthToken.objects.get(user=clinician).expiry == expires_at


def test_token_authenticates_later_requests(api, clinician):
    token = obtain_token(api, clinician.username).json()["token"]

    response = use_token(api, token).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["username"] == clinician.username


def test_token_is_stored_only_as_its_digest(api, clinician):
    token = obtain_token(api, clinician.username).json()["token"]

    stored = AuthToken.objects.get(user=clinician)
    assert stored.digest == hash_token(token)
    assert token not in {stored.digest, stored.token_key}
    assert not AuthToken.objects.filter(digest=token).exists()


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "clinician", "password": "wrong-password"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "clinician", "password": PASSWORD.upper()},
    ],
    ids=["wrong-password", "unknown-user", "password-is-case-sensitive"],
)
def test_wrong_credentials_are_a_401_and_create_no_token(api, clinician, credentials):
    response = api.post(TOKEN_URL, credentials, format="json")

    assert response.status_code == 401
    assert AuthToken.objects.count() == 0


def test_inactive_user_gets_no_token(api, clinician):
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])

    response = obtain_token(api, clinician.username)

    assert response.status_code == 401
    assert AuthToken.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [({"username": "clinician"}, "password"), ({"password": PASSWORD}, "username")],
)
def test_token_request_missing_a_field_is_a_400_naming_it(api, clinician, body, field):
    response = api.post(TOKEN_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert AuthToken.objects.count() == 0


def test_expired_token_is_a_401(api, clinician):
    token = obtain_token(api, clinician.username).json()["token"]
    AuthToken.objects.filter(user=clinician).update(expiry=timezone.now() - dt.timedelta(seconds=1))

    response = use_token(api, token).get(ME_URL)

    assert response.status_code == 401


def test_malformed_token_is_a_401(api, clinician):
    response = use_token(api, "not-a-real-token").get(ME_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_logout_revokes_the_token(api, clinician):
    token = obtain_token(api, clinician.username).json()["token"]

    response = use_token(api, token).post(LOGOUT_URL)

    assert response.status_code == 204
    assert AuthToken.objects.filter(user=clinician).count() == 0
    assert api.get(ME_URL).status_code == 401


def test_logout_revokes_only_the_token_it_was_sent_with(api, clinician):
    kept = obtain_token(api, clinician.username).json()["token"]
    revoked = obtain_token(api, clinician.username).json()["token"]

    use_token(api, revoked).post(LOGOUT_URL)

    assert AuthToken.objects.filter(user=clinician).get().digest == hash_token(kept)
    assert use_token(api, kept).get(ME_URL).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_log_out(as_user, role):
    assert as_user(role).post(LOGOUT_URL).status_code == 204


@pytest.mark.parametrize(("method", "url"), [("get", ME_URL), ("post", LOGOUT_URL)])
def test_no_credentials_is_a_401(api, method, url):
    response = getattr(api, method)(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role", ROLES)
def test_me_returns_who_is_signed_in(as_user, users, role):
    user = users[role]

    response = as_user(role).get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": str(user.id),
        "username": user.username,
        "full_name": f"{user.first_name} {user.last_name}",
        "credentials": "",
        "roles": [role],
        "is_active": True,
    }


def test_me_shows_the_credentials_and_they_cannot_be_written_through_it(as_user, clinician):
    clinician.credentials = "MD, FASAM"
    clinician.save()
    client = as_user(clinician)

    assert client.get(ME_URL).json()["credentials"] == "MD, FASAM"
    assert client.patch(ME_URL, {"credentials": "PhD"}, format="json").status_code == 405
    clinician.refresh_from_db()
    assert clinician.credentials == "MD, FASAM"


def test_me_lists_every_role_of_a_user_with_several(as_user):
    director = UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR])

    response = as_user(director).get(ME_URL)

    assert response.json()["roles"] == ["administrator", "supervisor"]


def test_me_query_count_is_bounded(as_user, clinician, django_assert_max_num_queries):
    client = as_user(clinician)

    with django_assert_max_num_queries(1):  # the user's groups
        response = client.get(ME_URL)

    assert response.status_code == 200


def test_token_of_a_deactivated_user_is_a_401(api, clinician):
    token = obtain_token(api, clinician.username).json()["token"]
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])

    response = use_token(api, token).get(ME_URL)

    assert response.status_code == 401


def test_browser_session_authenticates_and_logout_ends_it(api, clinician):
    api.force_login(clinician)
    assert api.get(ME_URL).status_code == 200

    response = api.post(LOGOUT_URL)

    assert response.status_code == 204
    assert api.get(ME_URL).status_code == 401


def test_user_without_a_clinic_role_is_refused_clinical_records(as_user, superuser):
    client = as_user(superuser)

    assert [
        client.get(url).status_code for url in ("/api/v1/patients/", "/api/v1/cases/", "/api/v1/visits/")
    ] == [
        403,
        403,
        403,
    ]
