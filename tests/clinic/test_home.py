"""The landing page (roles and open cases by stage, scoped by the policy), the login page and /healthz."""

import pytest

from cases.models import Case
from clinic.roles import Role
from tests.factories import CaseFactory, ClosedCaseFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
COUNTS_HEADING = "Open cases you can see, by stage"


@pytest.fixture
def open_cases(clinician, other_clinician):
    """Open cases in and out of the clinician's caseload, a closed one, and one entered in error."""
    for stage in (Case.Stage.INTAKE, Case.Stage.INTAKE, Case.Stage.TREATMENT):
        CaseFactory(primary_clinician=clinician, stage=stage)
    CaseFactory(primary_clinician=other_clinician, care_team=[clinician], stage=Case.Stage.ASSESSMENT)
    ClosedCaseFactory(primary_clinician=clinician)
    for stage in (Case.Stage.INTAKE, Case.Stage.INTAKE, Case.Stage.INTAKE, Case.Stage.RECOVERY):
        CaseFactory(primary_clinician=other_clinician, stage=stage)
    CaseFactory(
        primary_clinician=clinician,
        patient__entered_in_error=True,
        patient__entered_in_error_reason="Duplicate record",
    )


def _row(label: str, n: int) -> str:
    return f"<tr><td>{label}</td><td>{n}</td></tr>"


def test_anonymous_visitors_are_redirected_to_the_login_page(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_role_on_the_home_page(client, role):
    client.force_login(UserFactory(roles=[role]))

    response = client.get("/")

    assert response.status_code == 200
    assert response.context["roles"] == [role]
    assert f"<strong>{role}</strong>" in response.content.decode()


def test_a_user_with_several_roles_sees_all_of_them(client):
    client.force_login(UserFactory(roles=[Role.SUPERVISOR, Role.ADMINISTRATOR]))

    response = client.get("/")

    assert response.context["roles"] == [Role.ADMINISTRATOR, Role.SUPERVISOR]


def test_a_user_without_roles_is_told_to_ask_an_administrator(client):
    client.force_login(UserFactory())

    response = client.get("/")

    assert "none (ask an administrator)" in response.content.decode()
    assert COUNTS_HEADING not in response.content.decode()


def test_a_clinician_sees_open_case_counts_of_their_caseload_only(client, clinician, open_cases):
    client.force_login(clinician)

    response = client.get("/")

    assert response.context["stages"] == [
        ("Intake", 2),
        ("Assessment", 1),
        ("Treatment", 1),
        ("Long-term recovery", 0),
    ]
    assert _row("Intake", 2) in response.content.decode()


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.SUPERVISOR])
def test_front_desk_and_supervisors_see_open_case_counts_for_the_whole_clinic(client, role, open_cases):
    client.force_login(UserFactory(roles=[role]))

    response = client.get("/")

    assert response.context["stages"] == [
        ("Intake", 5),
        ("Assessment", 1),
        ("Treatment", 1),
        ("Long-term recovery", 1),
    ]
    assert _row("Intake", 5) in response.content.decode()


def test_an_administrator_sees_no_case_counts(client, administrator, open_cases):
    client.force_login(administrator)

    response = client.get("/")

    assert response.status_code == 200
    assert COUNTS_HEADING not in response.content.decode()


@pytest.mark.parametrize("cases", [1, 20])
def test_the_home_page_query_count_does_not_grow_with_the_caseload(
    client, clinician, other_clinician, django_assert_max_num_queries, cases
):
    for _ in range(cases):
        CaseFactory(primary_clinician=clinician)
        CaseFactory(primary_clinician=other_clinician, care_team=[clinician])
        CaseFactory(primary_clinician=other_clinician)
    client.force_login(clinician)

    with django_assert_max_num_queries(4):
        response = client.get("/")

    assert response.context["stages"][0] == ("Intake", 2 * cases)


def test_healthz_answers_ok_without_signing_in(client):
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_the_login_page_renders_the_sign_in_form(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()
    assert 'name="password"' in response.content.decode()


def test_signing_in_with_the_right_password_redirects_home(client, clinician):
    response = client.post("/accounts/login/", {"username": "clinician", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(clinician.pk)


def test_signing_in_with_a_wrong_password_shows_the_form_again(client, clinician):
    response = client.post("/accounts/login/", {"username": "clinician", "password": "not-the-password"})

    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("role", "shown"), [(Role.ADMINISTRATOR, True), (Role.CLINICIAN, False)])
def test_the_admin_link_shows_only_for_those_the_admin_lets_in(client, role, shown):
    user = UserFactory(roles=[role], is_staff=not shown)
    client.force_login(user)

    assert ('href="/admin/"' in client.get("/").content.decode()) is shown
