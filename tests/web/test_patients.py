"""Patient pages: search and list, registration with the duplicate warning, demographics, opening a case,
break-glass; who may do what, what is saved and audited, and what each page costs in queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import BreakGlassGrant, Case, Patient
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import (
    BreakGlassGrantFactory,
    CaseFactory,
    ClosedCaseFactory,
    PatientFactory,
    UserFactory,
    case_in_stage,
)

LIST_URL = "/patients/"
REGISTER_URL = "/patients/new/"
BREAK_GLASS_URL = "/patients/break-glass/"
ROLES = ("front_desk", "clinician", "supervisor", "administrator")

NEW_PATIENT = {
    "first_name": "Marisol",
    "last_name": "Quillfeather",
    "date_of_birth": "1988-03-14",
    "sex_at_birth": "female",
    "state": "KS",
    "county": "Douglas",
    "phone": "785-555-0142",
}
REASON = "Covering the on-call shift; the patient called in crisis."


def chart_url(patient: Patient) -> str:
    return f"/patients/{patient.pk}/"


def edit_url(patient: Patient) -> str:
    return f"/patients/{patient.pk}/edit/"


def open_case_url(patient: Patient) -> str:
    return f"/patients/{patient.pk}/open-case/"


def page_text(response) -> str:
    return response.content.decode()


def events(**filters) -> list[AuditEvent]:
    """Audit events other than the test's sign-in."""
    return list(AuditEvent.objects.exclude(action="login").filter(**filters).order_by("id"))


@pytest.fixture
def users(front_desk, clinician, supervisor, administrator):
    return {
        "front_desk": front_desk,
        "clinician": clinician,
        "supervisor": supervisor,
        "administrator": administrator,
    }


@pytest.fixture
def as_role(users, signed_in):
    """`as_role("clinician")` -> a client signed in as that role's user."""
    return lambda role: signed_in(users[role])


@pytest.fixture
def new_patient(clinician):
    """Registered by `clinician`, no case yet: in their caseload, so they may open the case and take it on."""
    return PatientFactory(last_name="Newcomb", created_by=clinician)


# --- Who may open which page ----------------------------------------------------------------------------------

PAGE_MATRIX = [
    # (page, role, status) for a patient in the clinician's caseload (or, for opening a case, one with no case).
    ("list", "front_desk", 200),
    ("list", "clinician", 200),
    ("list", "supervisor", 200),
    ("list", "administrator", 403),
    ("register", "front_desk", 200),
    ("register", "clinician", 200),
    ("register", "supervisor", 200),
    ("register", "administrator", 403),
    ("edit", "front_desk", 200),
    ("edit", "clinician", 200),
    ("edit", "supervisor", 200),
    ("edit", "administrator", 403),
    ("open_case", "front_desk", 200),
    ("open_case", "clinician", 200),
    ("open_case", "supervisor", 200),
    ("open_case", "administrator", 403),
    ("break_glass", "front_desk", 403),
    ("break_glass", "clinician", 200),
    ("break_glass", "supervisor", 403),
    ("break_glass", "administrator", 403),
]


def page_url(name: str, own_case: Case, new_patient: Patient) -> str:
    return {
        "list": LIST_URL,
        "register": REGISTER_URL,
        "edit": edit_url(own_case.patient),
        "open_case": open_case_url(new_patient),
        "break_glass": BREAK_GLASS_URL,
    }[name]


@pytest.mark.parametrize(("name", "role", "status"), PAGE_MATRIX)
def test_each_role_gets_each_page_or_a_refusal(as_role, own_case, new_patient, name, role, status):
    response = as_role(role).get(page_url(name, own_case, new_patient))

    assert response.status_code == status


@pytest.mark.parametrize(("name", "role", "status"), [row for row in PAGE_MATRIX if row[2] == 403])
def test_a_refused_page_says_why_and_is_audited_as_denied(as_role, own_case, new_patient, name, role, status):
    response = as_role(role).get(page_url(name, own_case, new_patient))

    assert "Your role does not allow you to" in page_text(response)
    (event,) = events(outcome="denied")
    assert (event.username, event.action) == (role.replace("_", ""), "view")


@pytest.mark.parametrize("name", ["list", "register", "edit", "open_case", "break_glass"])
def test_signed_out_visitors_are_sent_to_the_login_page(client, own_case, new_patient, name):
    response = client.get(page_url(name, own_case, new_patient))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", [edit_url, open_case_url])
def test_a_clinician_gets_404_for_a_patient_outside_the_caseload_and_it_is_audited(
    signed_in, clinician, other_case, url
):
    response = signed_in(clinician).get(url(other_case.patient))

    assert response.status_code == 404
    (event,) = events(outcome="denied")
    assert (event.action, event.patient_id) == ("view", other_case.patient_id)


def test_a_clinician_may_open_a_case_for_a_former_patient_of_their_own(signed_in, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)

    response = signed_in(clinician).get(open_case_url(closed.patient))

    assert response.status_code == 200


def test_a_clinician_may_not_open_a_case_for_another_clinicians_former_patient(signed_in, clinician):
    closed = ClosedCaseFactory(primary_clinician=UserFactory(roles=[Role.CLINICIAN]))

    response = signed_in(clinician).get(open_case_url(closed.patient))

    assert response.status_code == 404


def test_a_patient_entered_in_error_is_not_found(signed_in, supervisor):
    patient = PatientFactory(entered_in_error=True, entered_in_error_reason="Registered twice")

    assert signed_in(supervisor).get(edit_url(patient)).status_code == 404


def test_an_administrators_post_is_refused_and_nothing_is_saved(signed_in, administrator):
    response = signed_in(administrator).post(REGISTER_URL, NEW_PATIENT)

    assert response.status_code == 403
    assert not Patient.objects.exists()
    (event,) = events(outcome="denied")
    assert event.action == "update"


# --- The patient list -----------------------------------------------------------------------------------------


def listed_mrns(response) -> set[str]:
    return {patient.mrn for patient in response.context["results"]}


def test_the_list_shows_each_patients_name_mrn_birth_date_stage_and_clinician(
    signed_in, supervisor, clinician
):
    case = case_in_stage(
        "assessment",
        actor=supervisor,
        primary_clinician=clinician,
        patient=PatientFactory(
            first_name="Rowan", last_name="Ashgrove", preferred_name="Ro", date_of_birth=dt.date(1990, 5, 6)
        ),
    )

    response = signed_in(supervisor).get(LIST_URL)

    text = page_text(response)
    assert f'href="/patients/{case.patient_id}/">Ashgrove, Rowan</a>' in text
    assert "<td>Ro</td>" in text
    assert case.patient.mrn in text
    assert "1990-05-06" in text
    assert '<span class="badge stage-assessment">Assessment</span>' in text
    assert clinician.full_name in text


def test_a_patient_without_an_open_case_says_so(signed_in, front_desk, new_patient):
    response = signed_in(front_desk).get(LIST_URL)

    assert "No open case" in page_text(response)


def test_a_clinician_lists_only_their_caseload(signed_in, clinician, own_case, other_case):
    PatientFactory(last_name="Newcomb")  # registered at the front desk, no case yet: no one's caseload
    response = signed_in(clinician).get(LIST_URL)

    assert listed_mrns(response) == {own_case.patient.mrn}


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_front_desk_and_supervisors_list_every_patient(as_role, own_case, other_case, new_patient, role):
    response = as_role(role).get(LIST_URL)

    assert listed_mrns(response) == {own_case.patient.mrn, other_case.patient.mrn, new_patient.mrn}


def test_patients_entered_in_error_are_not_listed(signed_in, front_desk, new_patient):
    PatientFactory(entered_in_error=True, entered_in_error_reason="Registered twice")

    response = signed_in(front_desk).get(LIST_URL)

    assert listed_mrns(response) == {new_patient.mrn}


@pytest.mark.parametrize("term", ["quill", "QUILLFEATHER", "Mari", "marisol quill"])
def test_search_finds_a_patient_by_name(signed_in, front_desk, new_patient, term):
    # The other patient's random name could itself contain "mari": give it one that cannot match.
    Patient.objects.filter(pk=new_patient.pk).update(first_name="Theo", last_name="Young")
    wanted = PatientFactory(first_name="Marisol", last_name="Quillfeather")

    response = signed_in(front_desk).get(LIST_URL, {"search": term})

    assert listed_mrns(response) == {wanted.mrn}


def test_search_finds_a_patient_by_exact_mrn_in_any_case(signed_in, front_desk, own_case, new_patient):
    response = signed_in(front_desk).get(LIST_URL, {"search": new_patient.mrn.lower()})

    assert listed_mrns(response) == {new_patient.mrn}


def test_a_clinicians_search_does_not_reach_outside_the_caseload(signed_in, clinician, own_case, other_case):
    response = signed_in(clinician).get(LIST_URL, {"search": other_case.patient.mrn})

    assert listed_mrns(response) == set()
    assert "No patients match." in page_text(response)


def test_the_stage_filter_keeps_patients_whose_open_case_is_in_that_stage(signed_in, supervisor, own_case):
    treated = case_in_stage("treatment", actor=supervisor)

    response = signed_in(supervisor).get(LIST_URL, {"stage": "treatment"})

    assert listed_mrns(response) == {treated.patient.mrn}


def test_the_clinician_filter_keeps_primary_and_care_team_patients(
    signed_in, front_desk, clinician, own_case, other_case
):
    on_team = CaseFactory(care_team=[clinician])

    response = signed_in(front_desk).get(LIST_URL, {"clinician": str(clinician.pk)})

    assert listed_mrns(response) == {own_case.patient.mrn, on_team.patient.mrn}


def test_the_clinician_filter_offers_the_clinical_staff_only(signed_in, front_desk, clinician, supervisor):
    response = signed_in(front_desk).get(LIST_URL)

    choices = dict(response.context["form"].fields["clinician"].widget.choices)
    assert set(choices) == {"", str(clinician.pk), str(supervisor.pk)}


@pytest.mark.parametrize(("value", "expected"), [("true", "own"), ("false", "new")])
def test_the_open_case_filter(signed_in, front_desk, own_case, new_patient, value, expected):
    response = signed_in(front_desk).get(LIST_URL, {"has_open_case": value})

    wanted = own_case.patient if expected == "own" else new_patient
    assert listed_mrns(response) == {wanted.mrn}


@pytest.mark.parametrize("params", [{"stage": "limbo"}, {"clinician": "not-an-id"}, {"search": "x" * 101}])
def test_a_malformed_filter_is_a_400_naming_it_and_shows_no_patients(
    signed_in, front_desk, new_patient, params
):
    response = signed_in(front_desk).get(LIST_URL, params)

    assert response.status_code == 400
    assert response.context["results"] is None
    assert new_patient.mrn not in page_text(response)
    assert not events(action="list")


def test_the_list_is_paged_fifty_at_a_time_with_the_count(signed_in, front_desk):
    PatientFactory.create_batch(55)
    client = signed_in(front_desk)

    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": 2})

    assert len(first.context["results"]) == 50
    assert len(second.context["results"]) == 5
    assert "55 patients, page 1 of 2." in page_text(first)
    assert 'href="/patients/?page=2"' in page_text(first)
    assert listed_mrns(first).isdisjoint(listed_mrns(second))


def test_paging_keeps_the_search(signed_in, front_desk):
    PatientFactory.create_batch(51, last_name="Quillfeather")

    response = signed_in(front_desk).get(LIST_URL, {"search": "quill"})

    assert 'href="/patients/?search=quill&amp;page=2"' in page_text(response)


def test_an_out_of_range_page_shows_the_last_page(signed_in, front_desk, new_patient):
    response = signed_in(front_desk).get(LIST_URL, {"page": 9})

    assert listed_mrns(response) == {new_patient.mrn}


def test_the_search_works_without_javascript_as_a_plain_get_form(signed_in, front_desk):
    text = page_text(signed_in(front_desk).get(LIST_URL))

    assert '<form class="filters" method="get" action="/patients/"' in text
    assert '<label for="id_search">Name, MRN, date of birth or phone</label>' in text
    assert 'hx-trigger="input changed delay:300ms, search"' in text
    assert 'hx-push-url="true"' in text


def test_htmx_live_search_gets_only_the_results(signed_in, front_desk, new_patient, htmx):
    response = signed_in(front_desk).get(
        LIST_URL, {"search": new_patient.last_name}, headers={**htmx, "HX-Target": "results"}
    )

    text = page_text(response)
    assert response.status_code == 200
    assert text.lstrip().startswith('<section id="results"')
    assert new_patient.mrn in text
    assert "<form" not in text and "<html" not in text
    assert "HX-Target" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(signed_in, front_desk, htmx):
    response = signed_in(front_desk).get(
        LIST_URL, headers={**htmx, "HX-Target": "results", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in page_text(response)


def test_clinicians_are_offered_break_glass_from_the_list(signed_in, clinician, front_desk):
    assert "Patient not in your caseload?" in page_text(signed_in(clinician).get(LIST_URL))
    assert "Patient not in your caseload?" not in page_text(signed_in(front_desk).get(LIST_URL))


def test_the_list_is_audited_once_with_the_patients_shown(signed_in, front_desk, own_case, new_patient):
    signed_in(front_desk).get(LIST_URL, {"search": new_patient.last_name})

    (event,) = events()
    assert (event.action, event.object_type, event.data_category) == ("list", "patient", "demographics")
    assert event.patients_seen.split() == [str(new_patient.pk)]


def test_an_htmx_fragment_is_audited_too(signed_in, front_desk, new_patient, htmx):
    signed_in(front_desk).get(LIST_URL, headers={**htmx, "HX-Target": "results"})

    (event,) = events()
    assert event.action == "list" and event.patients_seen == str(new_patient.pk)


# --- Registering a patient ------------------------------------------------------------------------------------


def test_the_registration_form_labels_every_demographic_field(signed_in, front_desk):
    response = signed_in(front_desk).get(REGISTER_URL)

    text = page_text(response)
    for field in response.context["form"]:
        # A group of radio buttons (contact preferences) is a fieldset with a legend, each button labelled.
        labelled = f'<label for="{field.id_for_label}">' in text or f"<legend>{field.label}" in text
        assert labelled or field.is_hidden
    for label in ("Legal first name", "Legal last name", "Preferred name", "Sex assigned at birth", "County"):
        assert label in text
    assert '<option value="Douglas">Douglas</option>' in text


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_registering_saves_the_patient_with_a_new_mrn_and_shows_it(as_role, users, role):
    client = as_role(role)

    response = client.post(REGISTER_URL, NEW_PATIENT)

    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == chart_url(patient)
    assert (patient.first_name, patient.last_name, patient.county) == ("Marisol", "Quillfeather", "Douglas")
    assert patient.created_by == users[role]
    assert f"MRN {patient.mrn}" in page_text(client.get(LIST_URL))
    (event,) = events(action="create")
    assert (event.object_type, event.patient_id) == ("patient", patient.pk)


def test_a_clinician_who_registers_a_patient_sees_them_in_the_list(signed_in, clinician):
    client = signed_in(clinician)
    client.post(REGISTER_URL, NEW_PATIENT)

    assert listed_mrns(client.get(LIST_URL)) == {Patient.objects.get().mrn}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"last_name": ""}, "last_name", "This field is required."),
        ({"date_of_birth": ""}, "date_of_birth", "This field is required."),
        ({"date_of_birth": "3000-01-01"}, "date_of_birth", "Date of birth cannot be in the future."),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "more than 120 years ago"),
        ({"date_of_birth": "14/03/1988"}, "date_of_birth", "Enter a valid date."),
        ({"sex_at_birth": "robot"}, "sex_at_birth", "Select a valid choice."),
        ({"county": "Cook"}, "county", "Select a valid choice."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
    ],
)
def test_invalid_registration_re_renders_with_the_message_and_saves_nothing(
    signed_in, front_desk, change, field, message
):
    response = signed_in(front_desk).post(REGISTER_URL, {**NEW_PATIENT, **change})

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert message.replace("'", "&#x27;") in page_text(response)
    assert 'value="Marisol"' in page_text(response)  # what was typed is kept
    assert not Patient.objects.exists()
    assert not events(action="create")


def test_a_possible_duplicate_is_shown_with_open_existing_record_as_the_primary_choice(signed_in, front_desk):
    twin = PatientFactory(last_name="QUILLFEATHER", first_name="Mari", date_of_birth=dt.date(1988, 3, 14))

    response = signed_in(front_desk).post(REGISTER_URL, NEW_PATIENT)

    text = page_text(response)
    assert response.status_code == 409
    assert response.context["duplicates"] == [twin]
    assert "Possible duplicate: nothing saved yet" in text
    assert f'<a class="button" href="/patients/{twin.pk}/" autofocus>Open existing record</a>' in text
    assert twin.mrn in text
    assert (
        '<button type="submit" class="secondary" name="confirm_not_duplicate" value="true">Register anyway'
        in text
    )
    assert list(Patient.objects.all()) == [twin]
    (event,) = events()
    assert (event.action, event.patients_seen) == ("list", str(twin.pk))


def test_a_similar_name_born_the_same_day_is_a_possible_duplicate(signed_in, front_desk):
    pham = PatientFactory(first_name="Jonathan", last_name="Pham", date_of_birth=dt.date(1988, 3, 14))

    response = signed_in(front_desk).post(
        REGISTER_URL, {**NEW_PATIENT, "first_name": "Jonathan", "last_name": "Pahm"}
    )

    assert response.status_code == 409
    assert response.context["duplicates"] == [pham]


def test_a_duplicate_outside_the_clinicians_caseload_is_not_revealed_and_the_registration_goes_through(
    signed_in, clinician, other_case
):
    twin = other_case.patient
    twin.last_name, twin.date_of_birth = "Quillfeather", dt.date(1988, 3, 14)
    twin.save()

    response = signed_in(clinician).post(REGISTER_URL, NEW_PATIENT, follow=True)

    text = page_text(response)
    assert response.redirect_chain[0][1] == 302
    assert twin.mrn not in text and "duplicate" not in text.lower()
    new = Patient.objects.get(first_name="Marisol")
    assert new.duplicate_review.status == "open"
    assert list(new.duplicate_review.matches.all()) == [twin]


def test_a_namesake_born_another_day_is_no_duplicate(signed_in, front_desk):
    PatientFactory(last_name="Quillfeather", date_of_birth=dt.date(1988, 3, 15))

    response = signed_in(front_desk).post(REGISTER_URL, NEW_PATIENT)

    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_register_anyway_saves_the_confirmed_patient(signed_in, front_desk):
    PatientFactory(last_name="Quillfeather", date_of_birth=dt.date(1988, 3, 14))

    response = signed_in(front_desk).post(REGISTER_URL, {**NEW_PATIENT, "confirm_not_duplicate": "true"})

    assert response.status_code == 302
    assert Patient.objects.filter(first_name="Marisol").exists()


# --- Editing demographics -------------------------------------------------------------------------------------


def test_the_edit_form_starts_from_the_current_demographics_and_is_audited(signed_in, front_desk, own_case):
    patient = own_case.patient

    response = signed_in(front_desk).get(edit_url(patient))

    assert response.context["form"]["last_name"].value() == patient.last_name
    assert f'value="{patient.date_of_birth:%Y-%m-%d}"' in page_text(response)
    (event,) = events()
    assert (event.action, event.patient_id, event.data_category) == ("view", patient.pk, "demographics")


@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_editing_saves_the_changed_fields_and_audits_them(as_role, own_case, role):
    patient = own_case.patient
    form = as_role(role).get(edit_url(patient)).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["date_of_birth"] = patient.date_of_birth.isoformat()

    response = as_role(role).post(
        edit_url(patient), {**data, "phone": "785-555-0199", "preferred_name": "Sunny"}
    )

    patient.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == chart_url(patient)
    assert (patient.phone, patient.preferred_name) == ("+17855550199", "Sunny")
    (event,) = events(action="update")
    assert event.detail["fields"] == ["phone", "preferred_name"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"first_name": ""}, "This field is required."),
        ({"date_of_birth": "3000-01-01"}, "Date of birth cannot be in the future."),
        ({"postal_code": "6604412345678"}, "at most 10 characters"),
    ],
)
def test_invalid_edits_re_render_with_the_message_and_save_nothing(
    signed_in, front_desk, own_case, change, message
):
    patient = own_case.patient
    before = (patient.first_name, patient.date_of_birth, patient.postal_code)
    data = {**NEW_PATIENT, "first_name": patient.first_name, "last_name": patient.last_name}

    response = signed_in(front_desk).post(edit_url(patient), {**data, **change})

    patient.refresh_from_db()
    assert response.status_code == 400
    assert message in page_text(response)
    assert (patient.first_name, patient.date_of_birth, patient.postal_code) == before
    assert f"{patient.last_name}, {patient.first_name}" in page_text(response)
    assert not events(action="update")


def test_a_clinician_cannot_edit_a_patient_outside_the_caseload(signed_in, clinician, other_case):
    response = signed_in(clinician).post(edit_url(other_case.patient), NEW_PATIENT)

    other_case.patient.refresh_from_db()
    assert response.status_code == 404
    assert other_case.patient.last_name != "Quillfeather"
    (event,) = events()
    assert (event.action, event.outcome) == ("update", "denied")


# --- Opening a case -------------------------------------------------------------------------------------------


def test_front_desk_opens_a_case_with_the_referral_and_no_clinical_profile(
    signed_in, front_desk, new_patient
):
    client = signed_in(front_desk)
    form = client.get(open_case_url(new_patient)).context["form"]

    response = client.post(open_case_url(new_patient), {"referral_source": "court"})

    case = Case.objects.get(patient=new_patient)
    assert set(form.fields) == {"referral_source", "opened_on"}
    assert response.status_code == 302
    assert response["Location"] == chart_url(new_patient)
    assert (case.stage, case.referral_source, case.opened_on) == ("intake", "court", timezone.localdate())
    assert case.primary_clinician is None
    (event,) = events(action="create")
    assert (event.object_type, event.patient_id) == ("case", new_patient.pk)


def test_a_clinician_opening_a_case_takes_it_on_with_its_substance_profile(signed_in, clinician, new_patient):
    response = signed_in(clinician).post(
        open_case_url(new_patient),
        {
            "referral_source": "primary_care",
            "kratom_form": "extract",
            "kratom_daily_grams": "12.5",
            "kratom_years_used": "3",
            "reasons_for_use": ["pain", "energy"],
            "other_substances": "Alcohol on weekends",
        },
    )

    case = Case.objects.get(patient=new_patient)
    assert response.status_code == 302
    assert case.primary_clinician == clinician
    assert (case.kratom_form, case.kratom_daily_grams, case.kratom_years_used) == (
        "extract",
        Decimal("12.5"),
        Decimal("3"),
    )
    assert case.reasons_for_use == ["energy", "pain"]
    assert case.other_substances == "Alcohol on weekends"


def test_a_clinician_is_not_offered_the_clinician_assignment(signed_in, clinician, new_patient):
    form = signed_in(clinician).get(open_case_url(new_patient)).context["form"]

    assert "primary_clinician" not in form.fields and "care_team" not in form.fields
    assert "kratom_form" in form.fields


def test_a_supervisor_assigns_the_primary_clinician_and_care_team(
    signed_in, supervisor, clinician, new_patient
):
    counselor = UserFactory(roles=[Role.CLINICIAN])

    response = signed_in(supervisor).post(
        open_case_url(new_patient),
        {"referral_source": "self", "primary_clinician": str(clinician.pk), "care_team": [str(counselor.pk)]},
    )

    case = Case.objects.get(patient=new_patient)
    assert response.status_code == 302
    assert case.primary_clinician == clinician
    assert list(case.care_team.all()) == [counselor]


def test_a_supervisor_cannot_assign_someone_who_is_not_clinical_staff(
    signed_in, supervisor, front_desk, new_patient
):
    response = signed_in(supervisor).post(
        open_case_url(new_patient), {"referral_source": "self", "primary_clinician": str(front_desk.pk)}
    )

    assert response.status_code == 400
    assert "Select a valid choice" in page_text(response)
    assert not Case.objects.exists()


def test_a_second_open_case_is_a_409_with_the_services_message_and_nothing_saved(
    signed_in, front_desk, own_case
):
    client = signed_in(front_desk)
    assert "already has an open case" in page_text(client.get(open_case_url(own_case.patient)))

    response = client.post(open_case_url(own_case.patient), {"referral_source": "family"})

    assert response.status_code == 409
    assert "The patient already has an open case." in page_text(response)
    assert list(Case.objects.filter(patient=own_case.patient)) == [own_case]
    assert not events(action="create")


def test_opening_a_case_twice_from_the_form_saves_one(signed_in, front_desk, new_patient):
    client = signed_in(front_desk)

    first = client.post(open_case_url(new_patient), {"referral_source": "family"})
    second = client.post(open_case_url(new_patient), {"referral_source": "family"})

    assert (first.status_code, second.status_code) == (302, 409)
    assert Case.objects.filter(patient=new_patient).count() == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "referral_source", "This field is required."),
        ({"referral_source": "aliens"}, "referral_source", "Select a valid choice."),
        (
            {"referral_source": "self", "opened_on": "3000-01-01"},
            "opened_on",
            "cannot be opened in the future",
        ),
        ({"referral_source": "self", "kratom_daily_grams": "900"}, "kratom_daily_grams", "500"),
        ({"referral_source": "self", "kratom_daily_grams": "lots"}, "kratom_daily_grams", "Enter a number."),
        (
            {"referral_source": "self", "reasons_for_use": ["boredom"]},
            "reasons_for_use",
            "Select a valid choice.",
        ),
    ],
)
def test_invalid_case_details_re_render_with_the_message_and_save_nothing(
    signed_in, clinician, new_patient, data, field, message
):
    response = signed_in(clinician).post(open_case_url(new_patient), data)

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Case.objects.exists()
    assert not events(action="create")


def test_the_open_case_page_is_audited_as_a_view_of_the_patient(signed_in, front_desk, new_patient):
    signed_in(front_desk).get(open_case_url(new_patient))

    (event,) = events()
    assert (event.action, event.patient_id) == ("view", new_patient.pk)


# --- Break-glass ----------------------------------------------------------------------------------------------


def test_break_glass_grants_four_hours_and_opens_the_chart(signed_in, clinician, other_case):
    patient = other_case.patient
    client = signed_in(clinician)

    response = client.post(BREAK_GLASS_URL, {"mrn": patient.mrn.lower(), "reason": REASON})

    grant = BreakGlassGrant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == chart_url(patient)
    assert (grant.user, grant.patient, grant.reason) == (clinician, patient, REASON)
    assert grant.expires_at - grant.granted_at == dt.timedelta(hours=4)
    (event,) = events(action="break_glass")
    assert (event.patient_id, event.outcome) == (patient.pk, "allowed")
    message = page_text(client.get(LIST_URL))
    assert "lasts 4 hours, is audited, and is flagged for supervisor review" in message
    assert patient.mrn in listed_mrns(client.get(LIST_URL))  # now in reach


def test_break_glass_on_a_patient_already_in_reach_says_so_and_grants_nothing(signed_in, clinician, own_case):
    response = signed_in(clinician).post(BREAK_GLASS_URL, {"mrn": own_case.patient.mrn, "reason": REASON})

    assert response.status_code == 200
    assert "You already have access" in page_text(response)
    assert f'href="{chart_url(own_case.patient)}"' in page_text(response)
    assert not BreakGlassGrant.objects.exists()


def test_break_glass_under_a_running_grant_says_access_is_there(signed_in, clinician, other_case):
    BreakGlassGrantFactory(user=clinician, patient=other_case.patient)

    response = signed_in(clinician).post(BREAK_GLASS_URL, {"mrn": other_case.patient.mrn, "reason": REASON})

    assert "You already have access" in page_text(response)
    assert BreakGlassGrant.objects.count() == 1


@pytest.mark.parametrize("entered_in_error", [False, True])
def test_break_glass_on_an_unknown_mrn_says_so_and_audits_the_miss(signed_in, clinician, entered_in_error):
    mrn = "KR9999999"
    if entered_in_error:
        mrn = PatientFactory(entered_in_error=True, entered_in_error_reason="Registered twice").mrn

    response = signed_in(clinician).post(BREAK_GLASS_URL, {"mrn": mrn, "reason": REASON})

    assert response.status_code == 404  # as the API's: a miss reads like a patient out of reach
    assert "No patient matches exactly" in page_text(response)
    assert not BreakGlassGrant.objects.exists()
    (event,) = events()
    assert (event.action, event.outcome, event.object_id, event.patient_id) == (
        "break_glass",
        "denied",
        mrn,
        None,
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": ""}, "reason", "This field is required."),
        ({"reason": "urgent"}, "reason", "at least 10 characters"),
        (
            {"mrn": "", "reason": REASON},
            "mrn",
            "Give the exact MRN, or the exact first name, last name and date of birth.",
        ),
    ],
)
def test_break_glass_without_a_proper_reason_grants_nothing(
    signed_in, clinician, other_case, data, field, message
):
    response = signed_in(clinician).post(BREAK_GLASS_URL, {"mrn": other_case.patient.mrn, **data})

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not BreakGlassGrant.objects.exists()
    assert not events(action="break_glass", outcome="allowed")


def test_the_break_glass_form_takes_the_mrn_from_the_link(signed_in, clinician):
    response = signed_in(clinician).get(BREAK_GLASS_URL, {"mrn": "KR0000125"})

    assert 'value="KR0000125"' in page_text(response)


@pytest.mark.parametrize("role", ["front_desk", "supervisor"])
def test_break_glass_is_refused_to_other_roles_and_grants_nothing(as_role, other_case, role):
    response = as_role(role).post(BREAK_GLASS_URL, {"mrn": other_case.patient.mrn, "reason": REASON})

    assert response.status_code == 403
    assert not BreakGlassGrant.objects.exists()


# --- Query counts ---------------------------------------------------------------------------------------------

# Session, the user with the user's groups (clinic.backends), the clinician picker; count, page, open cases, their
# clinicians; the audit.
LIST_QUERIES = 7 + AUDIT_APPEND_QUERIES


@pytest.fixture
def busy_clinic(clinician, other_clinician):
    def build(rows: int) -> None:
        for n in range(rows):
            CaseFactory(
                primary_clinician=clinician if n % 2 else other_clinician, care_team=[other_clinician]
            )
        PatientFactory.create_batch(rows)

    return build


@pytest.mark.parametrize("rows", [3, 60])
@pytest.mark.parametrize("role", ["front_desk", "clinician", "supervisor"])
def test_the_list_costs_the_same_queries_for_few_patients_and_many(
    as_role, busy_clinic, django_assert_max_num_queries, rows, role
):
    busy_clinic(rows)
    client = as_role(role)

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"search": ""})

    visible = rows // 2 if role == "clinician" else 2 * rows  # the clinician has every other case
    assert len(response.context["results"]) == min(50, visible)


def test_the_list_query_bound_is_tight(as_role, busy_clinic):
    busy_clinic(5)
    client = as_role("supervisor")

    with CaptureQueriesContext(connection) as queries:
        client.get(LIST_URL)

    assert len(queries) == LIST_QUERIES


@pytest.mark.parametrize(
    ("role", "method", "url", "data", "bound"),
    [
        ("front_desk", "get", "register", None, 4),
        # The service's checks (constraints, foreign keys) in savepoints (a check constraint is three queries: the
        # preferred contact method's is the latest), the MRN, the patient, the audit event.
        ("front_desk", "post", "register", NEW_PATIENT, 22 + AUDIT_APPEND_QUERIES),
        ("clinician", "get", "edit", None, 5 + AUDIT_APPEND_QUERIES),
        # The two clinician pickers (users and their groups) for a supervisor; is a case open.
        ("supervisor", "get", "open_case", None, 9 + AUDIT_APPEND_QUERIES),
        ("clinician", "get", "break_glass", None, 4),
    ],
)
def test_each_form_page_has_a_small_query_bound(
    as_role, own_case, new_patient, django_assert_max_num_queries, role, method, url, data, bound
):
    client = as_role(role)
    target = page_url(url, own_case, new_patient)

    with django_assert_max_num_queries(bound):
        response = getattr(client, method)(target, data) if data else getattr(client, method)(target)

    assert response.status_code in (200, 302)


@pytest.mark.parametrize("twins", [1, 25])
def test_the_duplicate_warning_costs_the_same_queries_for_one_twin_and_many(
    signed_in, front_desk, django_assert_max_num_queries, twins
):
    PatientFactory.create_batch(twins, last_name="Quillfeather", date_of_birth=dt.date(1988, 3, 14))
    client = signed_in(front_desk)

    # Session, user, groups; the record's own checks first (one query per database constraint: the service
    # validates before it looks for duplicates); the patients born that day (names compared in Python); the audit
    # event. The same for one twin and for many.
    with django_assert_max_num_queries(17 + AUDIT_APPEND_QUERIES):
        response = client.post(REGISTER_URL, NEW_PATIENT)

    assert len(response.context["duplicates"]) == min(twins, 20)


def test_opening_a_case_has_a_fixed_query_bound(
    signed_in, front_desk, new_patient, django_assert_max_num_queries
):
    client = signed_in(front_desk)

    # Mostly the service's model validation: one savepointed query per check constraint of the case.
    with django_assert_max_num_queries(40 + AUDIT_APPEND_QUERIES):
        response = client.post(open_case_url(new_patient), {"referral_source": "self"})

    assert response.status_code == 302


def test_break_glass_has_a_small_query_bound(signed_in, clinician, other_case, django_assert_max_num_queries):
    client = signed_in(clinician)

    # Session, user, groups; the patient by MRN, is it in reach; the grant (in a savepoint) and its audit event.
    with django_assert_max_num_queries(8 + AUDIT_APPEND_QUERIES):
        response = client.post(BREAK_GLASS_URL, {"mrn": other_case.patient.mrn, "reason": REASON})

    assert response.status_code == 302
