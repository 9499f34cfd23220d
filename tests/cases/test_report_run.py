"""One report pipeline (`cases.reports.report_run`) behind both entry points: the same bad input is the same refusal,
naming the same field, from the API and from the page; one declaration per report that the API's schema shapes
and the page's layouts follow; one CSV writer and one formula defuser (`clinic.exports`) for every export."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db.models import Max
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from api.serializers.reports import REPORT_SERIALIZERS
from api.views.reports import REPORT_VIEWSETS
from cases.errors import ValidationFailed
from cases.reports import REPORTS, report_run
from cases.web.reports import LAYOUTS
from clinic.exports import cell, csv_text, defused
from clinic.models import AuditEvent, User
from tests.report_builders import episode

pytestmark = pytest.mark.django_db

RANGE = {"start": "2025-01-01", "end": "2025-03-31"}
BAD_INPUT = [  # (query, the fields the refusal names)
    ({"start": "2025-02-30"}, {"start"}),
    ({"end": "30/06/2025"}, {"end"}),
    ({"start": "2025-07-01", "end": "2025-06-30"}, {"start"}),
    ({"start": "1800-01-01"}, {"start"}),
    ({"start": "1990-01-01", "end": "2025-01-01"}, {"start"}),
    ({"clinician": "nobody"}, {"clinician"}),
    ({"clinician": "00000000-0000-0000-0000-000000000000"}, {"clinician"}),
    ({"deidentified": "maybe"}, {"deidentified"}),
    # every bad field named at once
    (
        {"start": "2025-02-30", "clinician": "nobody", "deidentified": "yes"},
        {"start", "clinician", "deidentified"},
    ),
]


def last_event() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def page_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.mark.parametrize(("query", "fields"), BAD_INPUT)
@pytest.mark.parametrize("name", ["census", "outcomes"])
def test_the_same_bad_input_is_the_same_refusal_naming_the_field_from_the_api_and_the_page(
    supervisor, name, query, fields
):
    with pytest.raises(ValidationFailed) as refused:
        report_run(supervisor, name, query)
    api_as, page_as = api_client(supervisor), page_client(supervisor)
    before = last_event()

    api = api_as.get(reverse(f"report-{name}"), query)
    page = page_as.get(reverse("reports"), {"report": name, **query})

    assert api.status_code == 400 and page.status_code == 400
    assert api.json() == refused.value.errors
    assert page.context["form"].errors == refused.value.errors
    assert set(refused.value.errors) == fields
    assert last_event() == before  # nothing run, nothing recorded


def test_an_unknown_report_is_refused_naming_the_report(supervisor):
    with pytest.raises(ValidationFailed) as refused:
        report_run(supervisor, "payroll", RANGE)

    page = page_client(supervisor).get(reverse("reports"), {"report": "payroll", **RANGE})

    assert refused.value.errors == {"report": ["Choose one of: census, retention, visits, outcomes."]}
    assert page.status_code == 400 and page.context["form"].errors == refused.value.errors


def test_a_role_without_reports_is_refused_by_the_pipeline_itself(front_desk):
    from django.core.exceptions import PermissionDenied

    before = last_event()
    with pytest.raises(PermissionDenied):
        report_run(front_desk, "census", RANGE)
    assert last_event() == before


def test_the_api_and_the_page_record_the_same_run(supervisor):
    api_client(supervisor).get(reverse("report-visits"), {**RANGE, "deidentified": "true"})
    page_client(supervisor).get(reverse("reports"), {"report": "visits", "deidentified": "true", **RANGE})

    api_event, page_event = AuditEvent.objects.filter(object_type="report").order_by("id")
    for event in (api_event, page_event):
        assert (event.action, event.object_type, event.object_id) == ("view", "report", "visits")
        assert event.detail["parameters"] == {"start": "2025-01-01", "end": "2025-03-31", "clinician": None}
        assert event.detail["deidentified"] is True
    assert page_event.detail["page"] == reverse("reports")


# --- One declaration per report -------------------------------------------------------------------------------------


def test_each_declared_report_has_its_api_shape_route_and_page_layout_and_nothing_else_does():
    assert list(REPORT_SERIALIZERS) == list(REPORTS)
    assert list(REPORT_VIEWSETS) == list(REPORTS)
    assert list(LAYOUTS) == list(REPORTS)
    for name, report in REPORTS.items():
        assert report.name == name
        assert reverse(f"report-{name}") == f"/api/v1/reports/{name}/"
        assert report.description  # served in the schema


# --- One CSV writer, one formula defuser ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_a_cell_a_spreadsheet_would_read_as_a_formula_is_defused(text):
    assert defused(text) == "'" + text
    assert cell(text) == "'" + text
    assert cell([text, "b"]) == "'" + text + " b"


def test_plain_text_numbers_and_objects_are_written_as_they_are():
    assert [cell(None), cell(True), cell(False), cell(-1.5), cell(-3), cell(Decimal("-0.25"))] == [
        "", "true", "false", "-1.5", "-3", "-0.25",
    ]  # fmt: skip
    assert [cell("Ana"), cell("'=x"), cell({"b": 1, "a": "=x"}), cell(dt.date(2025, 1, 2))] == [
        "Ana", "'=x", '{"a":"=x","b":1}', "2025-01-02",
    ]  # fmt: skip
    assert csv_text([["a", "=b"], [1, None]]) == "a,'=b\r\n1,\r\n"


def _csv(response) -> list[list[str]]:
    body = response.content if hasattr(response, "content") else b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode())))


def test_the_defuser_covers_the_report_export_and_the_audit_export(supervisor, administrator, clinician):
    clinician.first_name, clinician.last_name = "=HYPERLINK(1)", ""
    clinician.save()
    episode(dt.date(2025, 1, 1), primary=clinician)
    Client().post(reverse("login"), {"username": "@cmd|' /C calc'!A0", "password": "x"})  # a failed login

    report = _csv(api_client(supervisor).get(reverse("report-census"), {**RANGE, "format": "csv"}))
    audit = _csv(api_client(administrator).get(reverse("audit-event-list"), {"format": "csv"}))

    assert ["open_by_clinician", str(clinician.pk), "", "'=HYPERLINK(1)", "open", "1"] in report
    user = audit[0].index("user")
    assert "'@cmd|' /C calc'!A0" in [row[user] for row in audit[1:]]
