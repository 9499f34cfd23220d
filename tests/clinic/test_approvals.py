"""No one raises their own access, or borrows another's (finding 2 of issue 12; SPEC section 2): own roles are never
edited, clinical roles and credential actions on clinical accounts wait for a second person, nobody sets or sees
another's password, authenticators are enrolled by their owner only."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from clinic.approvals import SelfChange, decide, request_change
from clinic.models import AccessChange, AuditEvent, User
from clinic.roles import Role
from tests.factories import AuthenticatorFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet-harbor-tractor-91"


def change_form(user: User, roles: list[Role], **overrides: object) -> dict[str, object]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "groups": [Group.objects.get(name=role).pk for role in roles],
        **overrides,
    }


@pytest.fixture
def second_admin(db) -> User:
    return UserFactory(username="second.admin", roles=[Role.ADMINISTRATOR])


def test_an_administrator_cannot_add_supervisor_to_their_own_account(client, administrator):
    client.force_login(administrator)
    response = client.post(
        f"/admin/clinic/user/{administrator.pk}/change/",
        change_form(administrator, [Role.ADMINISTRATOR, Role.SUPERVISOR]),
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert "Nobody changes their own roles." in response.content.decode()
    assert User.objects.get(pk=administrator.pk).roles == frozenset({Role.ADMINISTRATOR})
    assert not AccessChange.objects.exists()


def test_no_one_asks_for_a_change_of_their_own_roles(administrator):
    with pytest.raises(SelfChange):
        request_change(
            actor=administrator, subject=administrator, kind="roles", roles_after=["administrator"]
        )


def test_a_clinical_role_waits_for_a_different_approver_and_grants_nothing_until_then(
    client, administrator, second_admin, supervisor, front_desk
):
    client.force_login(administrator)
    response = client.post(
        f"/admin/clinic/user/{front_desk.pk}/change/",
        change_form(front_desk, [Role.FRONT_DESK, Role.CLINICIAN]),
    )
    assert response.status_code == 302
    assert User.objects.get(pk=front_desk.pk).roles == frozenset({Role.FRONT_DESK})
    change = AccessChange.objects.get()
    assert (change.status, change.roles_before, change.roles_after) == (
        "pending",
        ["front_desk"],
        ["clinician", "front_desk"],
    )
    requested = AuditEvent.objects.get(action="role_change")
    assert requested.detail["status"] == "pending"

    with pytest.raises(SelfChange):  # the requester does not approve their own request
        decide(approver=administrator, change=change, approve=True)
    with pytest.raises(SelfChange):  # nor does the account's owner
        decide(approver=front_desk, change=change, approve=True)

    decide(approver=second_admin, change=change, approve=True)
    assert User.objects.get(pk=front_desk.pk).roles == frozenset({Role.FRONT_DESK, Role.CLINICIAN})
    approval = AuditEvent.objects.get(action="approve")
    assert (approval.user, approval.detail["roles_after"]) == (second_admin, ["clinician", "front_desk"])


def test_a_supervisor_approves_or_refuses_through_the_api(administrator, supervisor, front_desk):
    change = request_change(
        actor=administrator, subject=front_desk, kind="roles", roles_after=["front_desk", "supervisor"]
    )
    client = APIClient()
    client.force_authenticate(supervisor)
    listed = client.get("/api/v1/access-changes/", {"status": "pending"})
    assert [row["id"] for row in listed.json()["results"]] == [str(change.pk)]
    response = client.post(f"/api/v1/access-changes/{change.pk}/refuse/")
    assert response.status_code == 200
    assert response.json()["status"] == "refused"
    assert User.objects.get(pk=front_desk.pk).roles == frozenset({Role.FRONT_DESK})
    assert client.post(f"/api/v1/access-changes/{change.pk}/approve/").status_code == 409
    client.force_authenticate(front_desk)
    assert client.get("/api/v1/access-changes/").status_code == 403


def test_a_non_clinical_role_applies_at_once(client, administrator, front_desk):
    client.force_login(administrator)
    client.post(
        f"/admin/clinic/user/{front_desk.pk}/change/",
        change_form(front_desk, [Role.FRONT_DESK, Role.ADMINISTRATOR]),
    )
    assert User.objects.get(pk=front_desk.pk).roles == frozenset({Role.FRONT_DESK, Role.ADMINISTRATOR})
    assert not AccessChange.objects.exists()
    assert AuditEvent.objects.get(action="role_change").detail["roles_after"] == [
        "administrator",
        "front_desk",
    ]


def test_nobody_sets_another_users_password_in_the_admin(client, administrator, clinician):
    client.force_login(administrator)
    page = client.get(f"/admin/clinic/user/{clinician.pk}/password/")
    assert page.status_code == 403
    posted = client.post(
        f"/admin/clinic/user/{clinician.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert posted.status_code == 403
    assert not User.objects.get(pk=clinician.pk).check_password(NEW_PASSWORD)


def test_nobody_enrols_an_authenticator_for_someone_else_in_the_admin(client, administrator, clinician):
    client.force_login(administrator)
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    response = client.post(
        "/admin/otp_totp/totpdevice/add/",
        {"user": str(clinician.pk), "name": "mine", "key": "3132333435363738393031323334353637383930"},
    )
    assert response.status_code == 403
    assert not TOTPDevice.objects.exists()


def test_a_password_link_for_clinical_staff_waits_then_revokes_and_mails_a_one_time_link(
    client, administrator, second_admin, clinician
):
    clinician.email = "c@clinic.example.org"
    clinician.save()
    AuthToken.objects.create(clinician)
    client.force_login(administrator)
    response = client.post(
        "/admin/clinic/user/", {"action": "send_password_link", "_selected_action": [str(clinician.pk)]}
    )
    assert response.status_code == 302
    change = AccessChange.objects.get()
    assert (change.kind, change.status) == ("password_reset", "pending")
    assert mail.outbox == [] and AuthToken.objects.filter(user=clinician).exists()

    decide(approver=second_admin, change=change, approve=True, base_url="http://testserver")

    user = User.objects.get(pk=clinician.pk)
    assert not user.has_usable_password()  # nobody knows a password for it now
    assert not AuthToken.objects.filter(user=clinician).exists()
    (message,) = mail.outbox
    assert message.to == ["c@clinic.example.org"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    assert AuditEvent.objects.filter(action="password_reset", outcome="allowed").exists()
    # The owner follows the link and sets a password; the link works once.
    browser = client.__class__()
    form = browser.get(link, follow=True)
    assert form.status_code == 200
    done = browser.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert User.objects.get(pk=clinician.pk).check_password(NEW_PASSWORD)
    assert browser.get(link, follow=True).context["validlink"] is False


def test_removing_a_clinicians_authenticator_waits_for_approval(
    client, administrator, second_admin, clinician
):
    device = AuthenticatorFactory(user=clinician)
    client.force_login(administrator)
    client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    change = AccessChange.objects.get(kind="device_removal")
    decide(approver=second_admin, change=change, approve=True)
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action="device_removed", detail__removed=True).exists()


def test_changing_a_clinicians_email_waits_for_approval(client, administrator, clinician):
    before = clinician.email
    client.force_login(administrator)
    client.post(
        f"/admin/clinic/user/{clinician.pk}/change/",
        change_form(clinician, [Role.CLINICIAN], email="attacker@example.org"),
    )
    assert User.objects.get(pk=clinician.pk).email == before
    change = AccessChange.objects.get(kind="email_change")
    assert (change.email_before, change.email_after) == (before, "attacker@example.org")


def test_the_owner_enrols_their_own_authenticator_signed_in(client, clinician):
    client.force_login(clinician)
    page = client.get("/accounts/authenticator/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=clinician)
    assert device.confirmed is False
    wrong = client.post("/accounts/authenticator/", {"otp": "000000"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows down guessing after a wrong code
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    done = client.post("/accounts/authenticator/", {"otp": code})
    assert done.status_code == 200
    assert TOTPDevice.objects.get(pk=device.pk).confirmed is True


def test_the_command_line_only_bootstraps_the_first_administrator(administrator, clinician):
    with pytest.raises(CommandError):
        call_command("enroll_authenticator", clinician.username)
    call_command("enroll_authenticator", administrator.username)
    assert TOTPDevice.objects.filter(user=administrator, confirmed=True).exists()
    other = UserFactory(roles=[Role.ADMINISTRATOR])
    with pytest.raises(CommandError):
        call_command("enroll_authenticator", other.username)
