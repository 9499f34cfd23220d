"""The chart's clinical events (SPEC 3.6): the section as each role sees it, the add form (a seizure's urgent alert
then on the chart), refusals named on the form, marking one entered in error, scope and audit, query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Alert, ClinicalEvent
from cases.services.events import clinical_event_record
from cases.web.clinical_events import clinical_events_section
from clinic.models import AuditEvent
from tests.factories import ClosedCaseFactory

pytestmark = pytest.mark.django_db


def chart_url(patient_id) -> str:
    return f"/patients/{patient_id}/"


def add_url(case) -> str:
    return f"/cases/{case.pk}/clinical-events/new/"


def error_url(event) -> str:
    return f"/clinical-events/{event.pk}/entered-in-error/"


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def form(**overrides) -> dict[str, str]:
    return {
        "kind": "seizure",
        "occurred_on": yesterday().isoformat(),
        "description": "Generalised tonic-clonic seizure at home, two minutes; partner called 911.",
        "related_to_kratom": "yes",
        "naloxone_given": "",
    } | overrides


def event_on(case, actor, kind="hospitalization", **fields) -> ClinicalEvent:
    data = {"kind": kind, "occurred_on": yesterday(), "description": f"A {kind} to note."} | fields
    return clinical_event_record(case=case, actor=actor, data=data)


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


# The section.


def test_the_chart_lists_events_newest_first_with_their_facts(signed_in, clinician, own_case):
    event_on(
        own_case, clinician, occurred_on=yesterday() - dt.timedelta(days=5), description="Pneumonia stay."
    )
    event_on(own_case, clinician, "overdose", naloxone_given=True, description="Overdose on 7-OH tablets.")

    page = signed_in(clinician).get(chart_url(own_case.patient_id)).content.decode()

    assert 'id="clinical-events"' in page
    assert page.index("Overdose on 7-OH tablets.") < page.index("Pneumonia stay.")
    assert "Naloxone given" in page
    assert 'href="#clinical-events"' in page


def test_front_desk_gets_no_clinical_events(signed_in, front_desk, clinician, own_case):
    event_on(own_case, clinician, description="Hospitalised for pancreatitis.")

    response = signed_in(front_desk).get(chart_url(own_case.patient_id))

    assert "clinical_events" not in response.context
    assert "pancreatitis" not in response.content.decode()


def test_the_section_alone_shows_nothing_to_a_user_who_may_not_read_it(front_desk, own_case):
    request = RequestFactory().get("/")
    request.user = front_desk

    assert clinical_events_section(request, own_case.patient, own_case) == {"clinical_events": None}


def test_a_closed_case_shows_its_events_without_the_add_form(signed_in, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)
    ClinicalEvent.objects.create(
        case=closed,
        kind="seizure",
        occurred_on=closed.opened_on,
        description="Old seizure.",
        created_by=clinician,
    )

    page = signed_in(clinician).get(chart_url(closed.patient_id)).content.decode()

    assert "Old seizure." in page
    assert 'id="event-form"' not in page


# Recording.


def test_a_seizure_is_recorded_audited_and_its_urgent_alert_shows_on_the_chart(
    signed_in, clinician, own_case
):
    client = signed_in(clinician)

    response = client.post(add_url(own_case), form())

    assert response.status_code == 302
    assert response["Location"] == f"{chart_url(own_case.patient_id)}#clinical-events"
    event = ClinicalEvent.objects.get()
    assert (event.kind, event.related_to_kratom, event.naloxone_given, event.created_by) == (
        "seizure", "yes", None, clinician,
    )  # fmt: skip
    audited = AuditEvent.objects.filter(action="create", object_type="clinicalevent").get()
    assert (audited.object_id, audited.patient_id) == (str(event.pk), own_case.patient_id)
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity) == ("seizure", "urgent")
    chart = client.get(chart_url(own_case.patient_id)).content.decode()
    assert alert.message in chart
    assert 'class="alert-chip urgent' in chart


@pytest.mark.parametrize(("choice", "stored"), [("yes", True), ("no", False), ("", None)])
def test_an_overdose_records_whether_naloxone_was_given(signed_in, clinician, own_case, choice, stored):
    signed_in(clinician).post(add_url(own_case), form(kind="overdose", naloxone_given=choice))

    assert ClinicalEvent.objects.get().naloxone_given is stored
    assert Alert.objects.get().kind == "overdose"


def test_recording_by_htmx_refreshes_the_chart(signed_in, clinician, own_case, htmx):
    response = signed_in(clinician).post(add_url(own_case), form(), headers=htmx)

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{chart_url(own_case.patient_id)}#clinical-events"


INVALID = [
    ({"occurred_on": ""}, "This field is required."),
    ({"occurred_on": (timezone.localdate() + dt.timedelta(days=1)).isoformat()}, "This date cannot be in the future."),
    ({"occurred_on": "2001-01-01"}, "This date is before the case opened"),
    ({"kind": "fall"}, "Select a valid choice."),
    ({"description": ""}, "This field is required."),
    ({"naloxone_given": "yes"}, "Naloxone given is recorded for an overdose only."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), INVALID, ids=[next(iter(c)) + str(i) for i, (c, _) in enumerate(INVALID)]
)
def test_an_invalid_form_is_a_400_with_its_message_and_nothing_saved(
    signed_in, clinician, own_case, change, message, htmx
):
    response = signed_in(clinician).post(add_url(own_case), form(**change), headers=htmx)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="event-form"' in response.content.decode()
    assert not ClinicalEvent.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_record_clinical_content_get_403_audited(request, signed_in, own_case, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(add_url(own_case), form())

    assert response.status_code == 403
    assert not ClinicalEvent.objects.exists()
    assert (last_event().user_id, last_event().outcome) == (user.pk, "denied")


def test_clinician_gets_404_recording_on_another_clinicians_case_audited(signed_in, clinician, other_case):
    response = signed_in(clinician).post(add_url(other_case), form())

    assert response.status_code == 404
    assert not ClinicalEvent.objects.exists()
    assert (last_event().outcome, last_event().patient_id) == ("denied", other_case.patient_id)


def test_supervisor_records_on_any_case(signed_in, supervisor, other_case):
    assert signed_in(supervisor).post(add_url(other_case), form(kind="hospitalization")).status_code == 302
    assert ClinicalEvent.objects.get().case == other_case


# Entered in error.


def test_marking_an_event_entered_in_error_strikes_it_and_resolves_its_alert(signed_in, clinician, own_case):
    seizure = event_on(own_case, clinician, "seizure", description="Seizure typed on the wrong chart.")
    client = signed_in(clinician)

    response = client.post(error_url(seizure), {"reason": "Wrong patient."})

    assert response.status_code == 302
    seizure.refresh_from_db()
    assert (seizure.entered_in_error, seizure.entered_in_error_reason, seizure.entered_in_error_by) == (
        True, "Wrong patient.", clinician,
    )  # fmt: skip
    assert Alert.objects.get().status == "resolved"
    page = client.get(chart_url(own_case.patient_id)).content.decode()
    assert "<del>Seizure typed on the wrong chart.</del>" in page
    assert "Entered in error" in page


def test_entered_in_error_without_a_reason_is_a_400_and_changes_nothing(signed_in, clinician, own_case, htmx):
    seizure = event_on(own_case, clinician, "seizure")

    response = signed_in(clinician).post(error_url(seizure), {"reason": ""}, headers=htmx)

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert ClinicalEvent.objects.get().entered_in_error is False
    assert Alert.objects.get().status == "open"


def test_clinician_gets_404_marking_another_clinicians_event_audited(
    signed_in, clinician, supervisor, other_case
):
    other = event_on(other_case, supervisor, "seizure")

    response = signed_in(clinician).post(error_url(other), {"reason": "Not mine."})

    assert response.status_code == 404
    assert ClinicalEvent.objects.get().entered_in_error is False
    assert (last_event().outcome, last_event().object_type, last_event().patient_id) == (
        "denied", "clinicalevent", other_case.patient_id,
    )  # fmt: skip


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_record_clinical_content_cannot_mark(request, signed_in, clinician, own_case, role):
    seizure = event_on(own_case, clinician, "seizure")

    response = signed_in(request.getfixturevalue(role)).post(error_url(seizure), {"reason": "No."})

    assert response.status_code == 403
    assert ClinicalEvent.objects.get(pk=seizure.pk).entered_in_error is False


@pytest.mark.parametrize("rows", [1, 8])
def test_the_section_reads_one_query_whatever_the_rows(clinician, own_case, rows):
    for n in range(rows):
        event_on(own_case, clinician, description=f"Stay {n}.")
    request = RequestFactory().get("/")
    request.user = clinician

    with CaptureQueriesContext(connection) as queries:
        context = clinical_events_section(request, own_case.patient, own_case, readable=True, may_record=True)
        str(context)

    assert len(queries) == 1
    assert len(context["clinical_events"]["rows"]) == rows
