"""A changed password ends the user's API tokens (finding 7 of issue 12) and, through Django's session hash, their
other browser sessions; saving the same password again (a hash upgrade at sign-in) ends nothing."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client, override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.credentials import revoke_tokens
from clinic.models import AuditEvent, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-harbor-tractor-91"


def token_for(user: User) -> str:
    response = APIClient().post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/me/").status_code


def test_a_password_change_revokes_every_token_of_the_user(clinician, other_clinician):
    tokens = [token_for(clinician), token_for(clinician)]
    someone_elses = token_for(other_clinician)
    assert [me(token) for token in tokens] == [200, 200]

    clinician.set_password(NEW_PASSWORD)
    clinician.save()

    assert [me(token) for token in tokens] == [401, 401]
    assert me(someone_elses) == 200
    event = AuditEvent.objects.filter(action="revoke", object_id=str(clinician.pk)).get()
    assert event.detail == {"username": clinician.username, "tokens_revoked": 2, "reason": "password_changed"}


def test_a_password_change_ends_the_users_other_browser_sessions(clinician):
    browser = Client()
    browser.force_login(clinician)
    assert browser.get("/api/v1/me/").status_code == 200
    clinician.set_password(NEW_PASSWORD)
    clinician.save()
    assert browser.get("/api/v1/me/").status_code in (401, 403)


def test_saving_the_same_password_again_revokes_nothing(clinician):
    token = token_for(clinician)
    clinician.set_password(PASSWORD)  # as a hash upgrade at sign-in does
    clinician.save()
    assert me(token) == 200
    assert not AuditEvent.objects.filter(action="revoke").exists()


@override_settings(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
)
def test_an_older_hash_upgraded_at_sign_in_keeps_the_other_tokens(clinician):
    token = token_for(clinician)
    User.objects.filter(pk=clinician.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    token_for(clinician)  # signs in again: Django may rewrite the hash with the preferred hasher
    assert me(token) == 200


def test_revoke_tokens_counts_and_audits(clinician, administrator):
    token_for(clinician)
    assert revoke_tokens(clinician, reason="credential_reset", actor=administrator) == 1
    assert AuthToken.objects.filter(user=clinician).count() == 0
    event = AuditEvent.objects.get(action="revoke")
    assert event.user == administrator
