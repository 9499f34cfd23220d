"""The Django admin: administrators manage staff accounts and roles; nobody deletes users or edits roles;
the domain is visible read-only to superusers only (administrators have no access to clinical content), and
their reads of it are audited."""

import pytest
from django.contrib.auth.models import Group

from cases.models import Patient
from clinic.models import AuditEvent, User
from clinic.roles import Role
from tests.factories import AttendedVisitFactory, CaseFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"

ADMIN_PAGES = [
    "/admin/",
    "/admin/clinic/user/",
    "/admin/clinic/user/add/",
    "/admin/auth/group/",
    "/admin/cases/patient/",
]


@pytest.fixture
def staff_member(db):
    return UserFactory(username="nurse.ratched", first_name="Mildred", roles=[Role.CLINICIAN])


def _group(role: Role) -> Group:
    return Group.objects.get(name=role)


# --- Who gets in -----------------------------------------------------------------------------------------------


def test_an_administrator_without_is_staff_opens_the_admin_index(client, administrator):
    assert administrator.is_staff is False
    client.force_login(administrator)

    response = client.get("/admin/")

    assert response.status_code == 200


def test_an_administrator_signs_in_through_the_admin_login_form(client, administrator):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "administrator", "password": PASSWORD, "next": "/admin/"}
    )

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.session["_auth_user_id"] == str(administrator.pk)


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR])
def test_the_admin_login_form_refuses_other_roles_with_the_right_password(client, role):
    UserFactory(username="someone", roles=[role])

    response = client.post("/admin/login/", {"username": "someone", "password": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors["__all__"]
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR, None])
def test_users_without_the_administrator_role_are_sent_to_the_admin_login_even_with_is_staff(
    client, role, path
):
    client.force_login(UserFactory(roles=[role] if role else [], is_staff=True))

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_an_inactive_administrator_is_sent_to_the_admin_login(client, path):
    user = UserFactory(roles=[Role.ADMINISTRATOR])
    client.force_login(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_the_admin_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_the_administrators_admin_index_lists_staff_roles_authenticators_and_lockouts_only(
    client, administrator
):
    client.force_login(administrator)

    response = client.get("/admin/")

    models = {
        (app["app_label"], m["object_name"]) for app in response.context["app_list"] for m in app["models"]
    }
    assert models == {
        ("clinic", "User"),
        ("clinic", "AccessChange"),  # the two-person approvals (clinic/approvals.py)
        ("auth", "Group"),
        ("otp_totp", "TOTPDevice"),
        ("axes", "AccessAttempt"),
    }


# --- Staff accounts -------------------------------------------------------------------------------------------


def test_an_administrator_sees_staff_and_their_roles_in_the_user_changelist(
    client, administrator, staff_member
):
    client.force_login(administrator)

    response = client.get("/admin/clinic/user/")

    assert response.status_code == 200
    assert {user.pk for user in response.context["cl"].result_list} == {administrator.pk, staff_member.pk}
    assert '<td class="field-role_list">Clinician</td>' in response.content.decode()  # by name, not code


def test_an_administrator_adds_a_user_with_a_role(client, administrator):
    client.force_login(administrator)

    response = client.post(
        "/admin/clinic/user/add/",
        {
            "username": "new.counselor",
            "first_name": "Ada",
            "last_name": "Byron",
            "email": "ada@clinic.example.org",
            "groups": [_group(Role.CLINICIAN).pk],
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="new.counselor")
    # No password anyone knows (the owner sets one through a link), and the clinical role waits for a second
    # person (clinic/approvals.py; tests/clinic/test_approvals.py).
    assert (user.full_name, user.roles, user.has_usable_password()) == ("Ada Byron", frozenset(), False)
    assert user.access_changes.get().roles_after == ["clinician"]


def test_an_administrator_puts_an_existing_user_in_another_group(client, administrator, staff_member):
    client.force_login(administrator)

    response = client.post(
        f"/admin/clinic/user/{staff_member.pk}/change/",
        {
            "username": staff_member.username,
            "first_name": staff_member.first_name,
            "last_name": staff_member.last_name,
            "email": staff_member.email,
            "is_active": "on",
            "groups": [_group(Role.CLINICIAN).pk, _group(Role.SUPERVISOR).pk],
        },
    )

    assert response.status_code == 302
    # Adding `supervisor` waits for a second person's approval; until then it grants nothing.
    assert User.objects.get(pk=staff_member.pk).roles == frozenset({Role.CLINICIAN})
    assert staff_member.access_changes.get().roles_after == ["clinician", "supervisor"]


def test_an_administrator_deactivates_a_user(client, administrator, staff_member):
    client.force_login(administrator)

    response = client.post(
        f"/admin/clinic/user/{staff_member.pk}/change/",
        {
            "username": staff_member.username,
            "first_name": staff_member.first_name,
            "last_name": staff_member.last_name,
            "email": staff_member.email,
            "groups": [_group(Role.CLINICIAN).pk],
        },
    )

    assert response.status_code == 302
    assert User.objects.get(pk=staff_member.pk).is_active is False


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("who", ["administrator", "superuser"])
def test_nobody_can_delete_a_user(client, request, staff_member, who, method):
    client.force_login(request.getfixturevalue(who))

    response = getattr(client, method)(f"/admin/clinic/user/{staff_member.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=staff_member.pk).exists()


def test_the_user_changelist_offers_no_bulk_delete(client, administrator):
    client.force_login(administrator)

    response = client.get("/admin/clinic/user/")

    assert "delete_selected" not in response.content.decode()


@pytest.mark.parametrize("users", [3, 30])
def test_the_user_changelist_query_count_does_not_grow_with_the_number_of_users(
    client, administrator, django_assert_max_num_queries, users
):
    for i in range(users):
        UserFactory(roles=[list(Role)[i % 4], Role.CLINICIAN])
    client.force_login(administrator)

    with django_assert_max_num_queries(10):
        response = client.get("/admin/clinic/user/")

    assert len(response.context["cl"].result_list) == users + 1


# --- Roles (groups) are fixed -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["administrator", "superuser"])
def test_nobody_can_add_a_role(client, request, who):
    client.force_login(request.getfixturevalue(who))

    response = client.post("/admin/auth/group/add/", {"name": "intern"})

    assert response.status_code == 403
    assert not Group.objects.filter(name="intern").exists()


@pytest.mark.parametrize("who", ["administrator", "superuser"])
def test_nobody_can_rename_a_role(client, request, who):
    client.force_login(request.getfixturevalue(who))
    group = _group(Role.CLINICIAN)

    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "doctor"})

    assert response.status_code == 403
    assert Group.objects.get(pk=group.pk).name == "clinician"


@pytest.mark.parametrize("who", ["administrator", "superuser"])
def test_nobody_can_delete_a_role(client, request, who):
    client.force_login(request.getfixturevalue(who))
    group = _group(Role.CLINICIAN)

    response = client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Group.objects.filter(pk=group.pk).exists()


def test_an_administrator_views_a_role_read_only(client, administrator):
    client.force_login(administrator)

    response = client.get(f"/admin/auth/group/{_group(Role.SUPERVISOR).pk}/change/")

    assert (response.status_code, response.context["has_change_permission"]) == (200, False)


# --- The domain: superusers read, nobody writes, administrators see nothing -------------------------------------


DOMAIN_CHANGELISTS = [
    "/admin/cases/patient/",
    "/admin/cases/case/",
    "/admin/cases/visit/",
    "/admin/cases/breakglassgrant/",
]


@pytest.mark.parametrize("path", DOMAIN_CHANGELISTS)
def test_an_administrator_has_no_access_to_the_domain_changelists(client, administrator, path):
    client.force_login(administrator)

    assert client.get(path).status_code == 403


def test_an_administrator_cannot_open_a_patients_record(client, administrator):
    patient = PatientFactory()
    client.force_login(administrator)

    assert client.get(f"/admin/cases/patient/{patient.pk}/change/").status_code == 403


@pytest.mark.parametrize("path", DOMAIN_CHANGELISTS)
def test_a_superuser_views_the_domain_changelists(client, superuser, path):
    CaseFactory()
    client.force_login(superuser)

    assert client.get(path).status_code == 200


def test_a_superuser_sees_patients_in_the_patient_changelist(client, superuser):
    patient = PatientFactory()
    client.force_login(superuser)

    response = client.get("/admin/cases/patient/")

    assert patient.mrn in response.content.decode()


def test_a_superuser_views_a_patient_read_only(client, superuser):
    patient = PatientFactory()
    client.force_login(superuser)

    response = client.get(f"/admin/cases/patient/{patient.pk}/change/")

    assert (response.status_code, response.context["has_change_permission"]) == (200, False)


def test_a_superuser_cannot_add_a_patient(client, superuser):
    client.force_login(superuser)

    response = client.post(
        "/admin/cases/patient/add/",
        {"first_name": "Pat", "last_name": "Doe", "date_of_birth": "1980-01-01", "sex_at_birth": "female"},
    )

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_a_superuser_cannot_change_a_patient(client, superuser):
    patient = PatientFactory(last_name="Original")
    client.force_login(superuser)

    response = client.post(
        f"/admin/cases/patient/{patient.pk}/change/",
        {
            "first_name": patient.first_name,
            "last_name": "Changed",
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex_at_birth": patient.sex_at_birth,
        },
    )

    assert response.status_code == 403
    assert Patient.objects.get(pk=patient.pk).last_name == "Original"


def test_a_superuser_cannot_delete_a_patient(client, superuser):
    patient = PatientFactory()
    client.force_login(superuser)

    response = client.post(f"/admin/cases/patient/{patient.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


# --- A superuser's reads of the domain are audited like the API's ------------------------------------------------


@pytest.mark.parametrize(
    ("path", "object_type", "category"),
    [
        ("/admin/cases/patient/", "patient", "demographics"),
        ("/admin/cases/case/", "case", "case"),
        ("/admin/cases/visit/", "visit", "clinical_note"),
    ],
)
def test_a_superusers_domain_changelist_is_a_list_event_naming_the_patients_shown(
    client, superuser, path, object_type, category
):
    visit = AttendedVisitFactory()
    client.force_login(superuser)
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    client.get(path)

    [event] = AuditEvent.objects.exclude(pk__in=before)
    assert (event.user_id, event.action, event.object_type, event.data_category) == (
        superuser.pk,
        "list",
        object_type,
        category,
    )
    assert event.patients_seen.split() == [str(visit.case.patient_id)]


def test_a_superuser_opening_a_patient_is_a_view_event(client, superuser):
    patient = PatientFactory()
    client.force_login(superuser)

    client.get(f"/admin/cases/patient/{patient.pk}/change/")

    event = AuditEvent.objects.get(action="view")
    assert (event.object_type, event.object_id, event.patient_id, event.detail) == (
        "patient",
        str(patient.pk),
        patient.pk,
        {"via": "admin"},
    )
