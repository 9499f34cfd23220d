"""The audit log page (`/audit/`): administrators only; the API's filters; who accessed a patient's record; CSV
through the API's export; reading it is audited; bad filters are a 400 with the message."""

import csv
import datetime as dt
import io
import uuid
from unittest import mock

import pytest
from django.db.models import Max
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import AuditEvent
from tests.builders import AUDIT_APPEND_QUERIES
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"
NOT_ADMINISTRATORS = ["front_desk", "clinician", "supervisor"]


def at(day: int, hour: int = 10) -> dt.datetime:
    """A moment in March 2026, clinic time."""
    return timezone.make_aware(dt.datetime(2026, 3, day, hour))


def record_at(moment: dt.datetime, **fields) -> AuditEvent:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        return audit_record(**fields)


def last_sequence() -> int:
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def shown(response) -> list[int]:
    """The events on the page, by id, newest first."""
    return [event.pk for event in response.context["events"]]


@pytest.fixture
def log(clinician, other_clinician):
    """Five events over four days in March 2026, on two patients, by two clinicians and one stranger."""
    first, second = PatientFactory(), PatientFactory()
    events = {
        "viewed": record_at(
            at(1), user=clinician, action="view", object_type="patient", object_id=first.pk,
            patient_id=first.pk, data_category="demographics",
        ),
        "listed": record_at(
            at(2), user=clinician, action="list", object_type="patient", patients_seen=[first.pk, second.pk],
            data_category="demographics",
        ),
        "refused": record_at(
            at(3), user=other_clinician, action="view", object_type="visit", object_id=uuid.uuid4(),
            patient_id=second.pk, data_category="clinical_note", outcome="denied",
        ),
        "failed_login": record_at(at(4), user=None, action="login_failed", username="=HYPERLINK(\"x\")"),
        "moved": record_at(
            at(4, 12), user=clinician, action="transition", object_type="case", object_id=uuid.uuid4(),
            patient_id=second.pk, data_category="case",
        ),
    }  # fmt: skip
    return events, first, second


def names(log_events: dict[str, AuditEvent], response) -> list[str]:
    """The seeded events the page shows, oldest first."""
    seeded = {event.pk: name for name, event in log_events.items()}
    return [seeded[sequence] for sequence in reversed(shown(response)) if sequence in seeded]


# --- Who may read it ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_ADMINISTRATORS)
def test_only_administrators_open_the_audit_log_and_each_refusal_is_audited(signed_in, request, log, role):
    user = request.getfixturevalue(role)
    client = signed_in(user)
    before = last_sequence()

    response = client.get(URL)

    assert response.status_code == 403
    assert b"read the audit log" in response.content
    [event] = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.object_type, event.object_id, event.outcome, event.user_id) == (
        "view",
        "page",
        URL,
        "denied",
        user.pk,
    )


def test_a_refusal_to_htmx_is_plain_text(signed_in, htmx, supervisor):
    response = signed_in(supervisor).get(URL, headers=htmx)

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Your role does not allow you to read the audit log."


def test_without_signing_in_the_audit_log_redirects_to_the_login_page(client, log):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{reverse('login')}?next=")


def test_the_audit_log_answers_get_only(signed_in, administrator):
    client = signed_in(administrator)
    before = last_sequence()

    response = client.post(URL, {"action": "view"})

    assert response.status_code == 405
    assert last_sequence() == before


# --- What it shows -----------------------------------------------------------------------------------------------


def test_administrators_see_the_events_newest_first_with_every_column(
    signed_in, administrator, log, clinician
):
    events, first, second = log
    client = signed_in(administrator)
    newest = last_sequence()

    response = client.get(URL)

    assert response.status_code == 200
    assert shown(response) == list(
        AuditEvent.objects.filter(id__lte=newest).order_by("-id").values_list("id", flat=True)
    )
    html = response.content.decode()
    refused = events["refused"]
    for text in (
        "2026-03-03 10:00:00",  # clinic time
        "otherclinician",
        "clinician",
        "Stage change",
        "visit",
        refused.object_id,
        str(second.pk),
        '<span class="badge urgent">denied</span>',
        "=HYPERLINK(&quot;x&quot;)",  # a failed login's username, escaped, shown as typed
    ):
        assert text in html
    assert f'href="?patient={first.pk}"' in html
    assert '<th scope="col">Request id</th>' in html


def test_times_are_shown_in_clinic_time(signed_in, administrator, clinician):
    record_at(
        dt.datetime(2026, 7, 1, 3, 30, tzinfo=dt.UTC), user=clinician, action="login", object_type="user"
    )

    response = signed_in(administrator).get(URL)

    assert "2026-06-30 22:30:00" in response.content.decode()  # CDT is UTC-5


def test_the_log_has_fifty_events_a_page_and_links_to_the_next(signed_in, administrator, clinician):
    for n in range(60):
        audit_record(user=clinician, action="view", object_type="patient", object_id=f"p{n}")
    newest = last_sequence()

    first_page = signed_in(administrator).get(URL, {"action": "view"})
    second_page = signed_in(administrator).get(URL, {"action": "view", "page": 2})

    assert shown(first_page) == list(range(newest, newest - 50, -1))
    assert 'href="?action=view&amp;page=2"' in first_page.content.decode()
    assert shown(second_page) == list(range(newest - 50, newest - 60, -1))
    assert "Page 2 of 2" in second_page.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"user": "clinician"}, ["viewed", "listed", "moved"]),
        ({"user": "CLINICIAN_ID"}, ["viewed", "listed", "moved"]),
        ({"user": "otherclinician"}, ["refused"]),
        ({"patient": "FIRST"}, ["viewed", "listed"]),
        ({"patient": "SECOND"}, ["listed", "refused", "moved"]),
        ({"action": "view"}, ["viewed", "refused"]),
        ({"action": ["view", "transition"]}, ["viewed", "refused", "moved"]),
        ({"outcome": "denied"}, ["refused"]),
        ({"object_type": "case"}, ["moved"]),
        ({"since": "2026-03-03"}, ["refused", "failed_login", "moved"]),
        ({"until": "2026-03-02"}, ["viewed", "listed"]),
        ({"since": "2026-03-02", "until": "2026-03-03"}, ["listed", "refused"]),
        ({"since": "2026-03-04T11:00:00"}, ["moved"]),
        ({"patient": "SECOND", "action": "view", "outcome": "denied"}, ["refused"]),
    ],
)
def test_filters(signed_in, administrator, log, clinician, query, expected):
    events, first, second = log
    placeholders = {"CLINICIAN_ID": str(clinician.pk), "FIRST": str(first.pk), "SECOND": str(second.pk)}
    query = {
        key: placeholders.get(value, value) if isinstance(value, str) else value
        for key, value in query.items()
    }

    response = signed_in(administrator).get(URL, query)

    assert response.status_code == 200
    assert names(events, response) == expected


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("since=yesterday", "since", "Enter a date (YYYY-MM-DD) or an ISO 8601 date-time."),
        ("until=2026-02-30", "until", "Enter a date (YYYY-MM-DD) or an ISO 8601 date-time."),
        ("action=peek", "action", "Select a valid choice. peek is not one of the available choices."),
        ("outcome=maybe", "outcome", "Select a valid choice. maybe is not one of the available choices."),
        ("patient=12", "patient", "Enter a valid UUID."),
        ("user=" + "x" * 151, "user", "Ensure this value has at most 150 characters (it has 151)."),
        ("data_category=gossip", "data_category", "gossip is not one of the available choices."),
        ("since=%00", "since", "Enter a date (YYYY-MM-DD) or an ISO 8601 date-time."),
    ],
)
def test_a_bad_filter_re_renders_the_form_with_its_message_as_a_400_and_shows_nothing(
    signed_in, administrator, log, query, field, message
):
    client = signed_in(administrator)
    before = last_sequence()

    response = client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["errors"]
    assert "events" not in response.context
    assert last_sequence() == before  # nothing was shown, nothing to record


def test_reading_the_log_is_audited_with_the_filters_and_the_patient_asked_about(
    signed_in, administrator, log
):
    _, first, _ = log
    client = signed_in(administrator)
    before = last_sequence()

    response = client.get(URL, {"patient": str(first.pk), "action": ["list", "view"], "page": 1})

    [event] = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.object_type, event.user_id, event.data_category, event.outcome) == (
        "list",
        "audit_event",
        administrator.pk,
        "audit",
        "allowed",
    )
    assert (event.patient_id, event.patients_seen) == (first.pk, "")
    assert event.detail == {
        "page": URL,
        "query": {"action": "list,view", "patient": str(first.pk), "page": "1"},
    }
    assert event.pk not in shown(response)  # the page was read before its own event


# --- Who accessed this record ------------------------------------------------------------------------------------


def test_a_patients_access_view_names_who_accessed_the_record_and_how(signed_in, administrator, log):
    events, _, second = log

    response = signed_in(administrator).get(URL, {"patient": str(second.pk)})

    assert names(events, response) == ["listed", "refused", "moved"]
    by_user = {row["username"]: (row["events"], row["denied"]) for row in response.context["accessed_by"]}
    assert by_user == {"clinician": (2, 0), "otherclinician": (1, 1)}
    html = response.content.decode()
    assert f"Who accessed patient {second.pk}" in html
    assert "shown in a list" in html  # the list that showed it names no one patient
    assert f'href="?patient={second.pk}&amp;user=otherclinician"' in html


def test_a_page_list_read_by_a_clinician_is_in_the_patients_access_view(
    signed_in, client, administrator, clinician, own_case
):
    audit_record(
        user=clinician, action="list", object_type="patient", patients_seen=[own_case.patient_id],
        data_category="demographics",
    )  # fmt: skip

    response = signed_in(administrator).get(URL, {"patient": str(own_case.patient_id)})

    assert [row["username"] for row in response.context["accessed_by"]] == ["clinician"]


def test_a_patient_nobody_accessed_has_an_empty_access_view(signed_in, administrator, log):
    response = signed_in(administrator).get(URL, {"patient": str(uuid.uuid4())})

    assert response.status_code == 200
    assert list(response.context["events"]) == []
    assert "Nobody has accessed this record." in response.content.decode()


# --- htmx ----------------------------------------------------------------------------------------------------------


def test_htmx_gets_the_filters_and_results_alone(signed_in, htmx, administrator, log):
    response = signed_in(administrator).get(URL, {"outcome": "denied"}, headers=htmx)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="audit-log">')
    assert "<html" not in html
    assert html.count('<span class="badge urgent">denied</span>') == 1


def test_a_history_restore_gets_the_whole_page_and_answers_vary_with_htmx(signed_in, administrator):
    client = signed_in(administrator)

    restored = client.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert "<html" in restored.content.decode()
    assert "HX-Request" in restored["Vary"]


def test_htmx_gets_a_bad_filter_back_as_a_400_fragment(signed_in, htmx, administrator):
    response = signed_in(administrator).get(URL, {"since": "soon"}, headers=htmx)

    assert response.status_code == 400
    assert response.content.decode().lstrip().startswith('<div id="audit-log">')
    assert "Enter a date (YYYY-MM-DD)" in response.content.decode()


# --- CSV -------------------------------------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_link_carries_the_filters_and_downloads_them_audited(signed_in, administrator, log):
    events, _, second = log
    client = signed_in(administrator)
    page = client.get(URL, {"patient": str(second.pk), "action": ["view", "transition"], "page": 1})
    link = page.context["csv_url"]
    path, query = link.split("?")
    assert (path, QueryDict(query)) == (
        "/api/v1/audit-events/",
        QueryDict(f"patient={second.pk}&action=view&action=transition&format=csv"),
    )
    assert link.replace("&", "&amp;") in page.content.decode()
    before = last_sequence()

    response = client.get(link)  # the browser's session is enough for the API

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = read_csv(response)
    assert header[:4] == ["id", "sequence", "occurred_at", "user"]
    assert [int(row[0]) for row in rows] == [events["moved"].pk, events["refused"].pk]
    [export] = AuditEvent.objects.filter(id__gt=before)
    assert (export.action, export.object_type, export.user_id, export.patient_id) == (
        "export",
        "audit_event",
        administrator.pk,
        second.pk,
    )


# --- Query bounds ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", [{}, {"patient": "PATIENT", "action": ["list", "view"], "since": "2026-01-01"}]
)
def test_the_page_costs_the_same_queries_whatever_the_number_of_events(
    signed_in, administrator, clinician, django_assert_max_num_queries, query
):
    patient = PatientFactory()
    query = {key: str(patient.pk) if value == "PATIENT" else value for key, value in query.items()}
    client = signed_in(administrator)

    def cost() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, query).status_code == 200
        return len(queries)

    audit_record(user=clinician, action="view", object_type="patient", patient_id=patient.pk)
    few = cost()
    for n in range(120):
        audit_record(
            user=clinician, action="list" if n % 2 else "view", object_type="patient", patient_id=patient.pk
        )
    assert cost() == few
    # session, user, roles; count, page (and who accessed); the read's audit append
    with django_assert_max_num_queries(6 + AUDIT_APPEND_QUERIES):
        client.get(URL, query)
