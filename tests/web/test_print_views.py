"""Print views (issue 15): the chart (`patients/<id>/print/`) and a visit summary (`visits/<id>/print/`). Printing is
a read of patient data: the chart's print view asks the chart's policy question and writes the chart's audit event
(the same function serves both); the visit summary asks and audits as reading that visit does. Refused roles and
patients outside the scope get the same audited 403 / 404."""

import pytest
from django.urls import reverse

from cases.models import VisitAddendum
from clinic.models import AuditEvent
from clinic.roles import Role
from tests.factories import SignedVisitFactory, UserFactory, VisitFactory
from tests.web.test_chart import CHART_MAX_QUERIES, fill_chart

pytestmark = pytest.mark.django_db

NOTE = "Cravings eased since last week; sleeping better."


@pytest.fixture
def signed(own_case, clinician):
    clinician.first_name, clinician.last_name, clinician.credentials = "Chidi", "Okafor", "MD"
    clinician.save()
    visit = SignedVisitFactory(case=own_case, clinician=clinician)
    VisitAddendum.objects.create(
        visit=visit, author=clinician, text="Dose corrected after the pharmacy called."
    )
    return visit


def events_since(mark: int) -> list[tuple]:
    """The events written since `mark`; a refused page's event names the page, here without its print/ suffix."""
    return [
        (
            e.action,
            e.object_type,
            e.object_id.removesuffix("print/"),
            e.patient_id,
            e.outcome,
            e.data_category,
        )
        for e in AuditEvent.objects.filter(id__gt=mark).order_by("id")
    ]


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- The chart's print view -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["clinician", "other_clinician", "front_desk", "supervisor", "administrator"]
)
def test_printing_the_chart_is_the_charts_read_with_the_same_answer_and_audit(
    request, db, signed_in, signed, role
):
    client = signed_in(request.getfixturevalue(role))
    patient_id = signed.case.patient_id

    mark = last_id()
    chart = client.get(reverse("chart", args=[patient_id]))
    chart_events = events_since(mark)
    mark = last_id()
    printed = client.get(reverse("chart-print", args=[patient_id]))
    print_events = events_since(mark)

    assert printed.status_code == chart.status_code
    assert print_events == chart_events and len(print_events) == 1


def test_the_chart_prints_without_its_controls_under_a_header_naming_the_printer(
    signed_in, clinician, signed
):
    response = signed_in(clinician).get(reverse("chart-print", args=[signed.case.patient_id]))

    html = response.content.decode()
    assert response.status_code == 200 and response.context["printing"] is True
    assert 'class="print-view"' in html and "data-print" in html
    assert "Printed " in html and "by Chidi Okafor, MD" in html and "42 CFR Part 2" in html
    assert NOTE in html and "Signed by Chidi Okafor, MD," in html
    assert "Print the chart" not in html and "Print summary" not in html  # no links to itself


def test_front_desk_prints_the_chart_without_clinical_content(signed_in, front_desk, signed):
    response = signed_in(front_desk).get(reverse("chart-print", args=[signed.case.patient_id]))

    assert response.status_code == 200
    assert NOTE not in response.content.decode()
    assert AuditEvent.objects.order_by("-id").first().data_category == "demographics"


def test_the_chart_links_to_its_print_view_and_each_note_to_its_summary(
    signed_in, clinician, front_desk, signed
):
    html = signed_in(clinician).get(reverse("chart", args=[signed.case.patient_id])).content.decode()
    assert reverse("chart-print", args=[signed.case.patient_id]) in html
    assert reverse("visit-print", args=[signed.pk]) in html

    html = signed_in(front_desk).get(reverse("chart", args=[signed.case.patient_id])).content.decode()
    assert reverse("visit-print", args=[signed.pk]) not in html  # front desk reads no notes


def test_the_chart_print_view_stays_under_the_charts_query_bound(
    signed_in, clinician, own_case, django_assert_max_num_queries
):
    fill_chart(own_case, clinician, rows=8)
    client = signed_in(clinician)

    with django_assert_max_num_queries(CHART_MAX_QUERIES):
        assert client.get(reverse("chart-print", args=[own_case.patient_id])).status_code == 200


# --- A visit summary ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "supervisor"])
def test_a_reader_of_clinical_content_prints_a_visit_summary(request, db, signed_in, signed, role):
    client = signed_in(request.getfixturevalue(role))
    mark = last_id()

    response = client.get(reverse("visit-print", args=[signed.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Visit summary" in html and NOTE in html
    assert "Signed by Chidi Okafor, MD," in html
    assert "Dose corrected after the pharmacy called." in html and "Chidi Okafor, MD," in html
    assert "by " in html and "Printed " in html
    assert events_since(mark) == [
        ("view", "visit", str(signed.pk), signed.case.patient_id, "allowed", "clinical_note")
    ]


@pytest.mark.parametrize(("role", "status"), [("front_desk", 403), ("administrator", 403)])
def test_roles_that_read_no_notes_are_refused_and_audited(request, db, signed_in, signed, role, status):
    client = signed_in(request.getfixturevalue(role))
    mark = last_id()

    response = client.get(reverse("visit-print", args=[signed.pk]))

    assert response.status_code == status
    assert NOTE not in response.content.decode()
    [event] = events_since(mark)
    assert event[4] == "denied"


def test_a_clinician_outside_the_caseload_gets_the_audited_404(signed_in, other_clinician, signed):
    client = signed_in(other_clinician)
    mark = last_id()

    response = client.get(reverse("visit-print", args=[signed.pk]))

    assert response.status_code == 404
    assert NOTE not in response.content.decode()
    assert events_since(mark) == [("view", "visit", str(signed.pk), signed.case.patient_id, "denied", "")]


def test_a_visit_that_does_not_exist_is_the_same_404(signed_in, clinician):
    import uuid

    assert signed_in(clinician).get(reverse("visit-print", args=[uuid.uuid4()])).status_code == 404


def test_printing_is_a_read_only_get(signed_in, clinician, signed):
    assert signed_in(clinician).post(reverse("visit-print", args=[signed.pk])).status_code == 405
    assert signed_in(clinician).post(reverse("chart-print", args=[signed.case.patient_id])).status_code == 405


def test_a_scheduled_visit_prints_without_a_note(
    signed_in, clinician, own_case, django_assert_max_num_queries
):
    visit = VisitFactory(case=own_case, clinician=clinician)
    for _ in range(3):
        UserFactory(roles=[Role.CLINICIAN])
    client = signed_in(clinician)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("visit-print", args=[visit.pk]))

    assert response.status_code == 200
    assert "Signed by" not in response.content.decode()


def test_the_printed_chart_has_every_visit_not_the_latest_ten(signed_in, clinician, own_case):
    import datetime as dt

    from django.utils import timezone

    for day in range(12):
        VisitFactory(
            case=own_case, clinician=clinician, scheduled_at=timezone.now() + dt.timedelta(days=day + 1)
        )
    client = signed_in(clinician)

    on_screen = client.get(reverse("chart", args=[own_case.patient_id]))
    printed = client.get(reverse("chart-print", args=[own_case.patient_id]))

    assert len(on_screen.context["visits"]) == 10 and on_screen.context["visits_more"]
    assert len(printed.context["visits"]) == 12 and not printed.context["visits_more"]
