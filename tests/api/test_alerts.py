"""Alerts over the API (SPEC section 5): the worklist over the caseload, urgent first then oldest; acknowledging
and resolving with a note; alerts raised by data that arrives through other endpoints; query bounds."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Alert, Visit
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import CaseFactory

# The users and the clinic are built once for this module (tests/conftest.py): every test sees them.
pytestmark = pytest.mark.rows_built_once()

LIST_URL = "/api/v1/alerts/"
KEYS = {
    "id", "patient", "case", "kind", "severity", "status", "message", "raised_at", "acknowledged_at",
    "acknowledged_by", "acknowledge_note", "resolved_at", "resolved_by", "resolve_note", "source_type", "source_id",
    "reopened_at", "evidence",
}  # fmt: skip


def detail_url(alert: Alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/"


def acknowledge_url(alert: Alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/acknowledge/"


def resolve_url(alert: Alert) -> str:
    return f"/api/v1/alerts/{alert.pk}/resolve/"


def stored(alert: Alert) -> dict[str, object]:
    return Alert.objects.filter(pk=alert.pk).values().get()


def call(client, endpoint: str, alert: Alert):
    method, url, body = {
        "list": ("get", LIST_URL, None),
        "retrieve": ("get", detail_url(alert), None),
        "acknowledge": (
            "post",
            acknowledge_url(alert),
            {"note": "Called the patient; safety plan reviewed."},
        ),
        "resolve": ("post", resolve_url(alert), {"note": "Seen in clinic today."}),
    }[endpoint]
    return getattr(client, method)(url, body, format="json")


ROLE_MATRIX = [
    (role, endpoint, {"anonymous": 401, "front_desk": 403, "administrator": 403}.get(role, 200))
    for role in ("anonymous", "front_desk", "clinician", "supervisor", "administrator")
    for endpoint in ("list", "retrieve", "acknowledge", "resolve")
]


@pytest.mark.parametrize(("role", "endpoint", "expected"), ROLE_MATRIX)
def test_role_gets_the_expected_status(as_user, records, role, endpoint, expected):
    response = call(as_user(role), endpoint, records.own["alerts"])

    assert response.status_code == expected, response.content


@pytest.mark.parametrize("endpoint", ["acknowledge", "resolve"])
@pytest.mark.parametrize("role", ["anonymous", "front_desk", "administrator"])
def test_refused_roles_settle_nothing(as_user, records, role, endpoint):
    alert = records.own["alerts"]
    before = stored(alert)

    call(as_user(role), endpoint, alert)

    assert stored(alert) == before


@pytest.mark.parametrize("endpoint", ["retrieve", "acknowledge", "resolve"])
def test_clinician_gets_404_for_another_clinicians_alert_and_nothing_changes(as_user, records, endpoint):
    alert = records.other["alerts"]
    before = stored(alert)

    response = call(as_user("clinician"), endpoint, alert)

    assert response.status_code == 404
    assert stored(alert) == before


def test_clinician_lists_only_their_caseloads_alerts(as_user, records):
    response = as_user("clinician").get(LIST_URL)

    assert ids(response) == {str(records.own["alerts"].pk)}


@pytest.mark.parametrize("key", ["case", "patient"])
def test_filtering_on_another_clinicians_case_or_patient_finds_nothing(as_user, clinic, records, key):
    value = clinic.other_case.pk if key == "case" else clinic.other_patient.pk

    response = as_user("clinician").get(LIST_URL, {key: str(value)})

    assert ids(response) == set()


def test_supervisor_lists_every_alert(as_user, records):
    response = as_user("supervisor").get(LIST_URL)

    assert ids(response) == {str(records.own["alerts"].pk), str(records.other["alerts"].pk)}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_alerts_are_raised_by_the_server_and_never_edited_or_deleted(as_user, clinic, records, method):
    alert = records.own["alerts"]
    url = LIST_URL if method == "post" else detail_url(alert)
    body = {"case": str(clinic.own_case.pk), "kind": "suicide_risk", "status": "resolved"}

    response = getattr(as_user("supervisor"), method)(url, body, format="json")

    assert response.status_code == 405
    assert Alert.objects.count() == 2
    assert stored(alert)["status"] == "open"


def test_alert_shape(as_user, clinic, records):
    alert = records.own["alerts"]

    body = as_user("clinician").get(detail_url(alert)).json()

    assert set(body) == KEYS
    assert {key: body[key] for key in ("id", "patient", "case", "kind", "severity", "status", "message")} == {
        "id": str(alert.pk),
        "patient": str(clinic.own_patient.pk),
        "case": str(clinic.own_case.pk),
        "kind": "engagement_risk",
        "severity": "warning",
        "status": "open",
        "message": "Two no-shows.",
    }


# The worklist.


def raise_alert(case, kind: str, severity: str, days_ago: int, status: str = "open", actor=None) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        case=case,
        patient_id=case.patient_id,
        kind=kind,
        severity=severity,
        message=f"{kind} {days_ago} days ago.",
        raised_at=now - dt.timedelta(days=days_ago),
        status=status,
        resolved_at=now if status == "resolved" else None,
        resolved_by=actor if status == "resolved" else None,
        acknowledged_at=now if status != "open" else None,
        acknowledged_by=actor if status != "open" else None,
    )


@pytest.fixture
def worklist(clinic, clinician, other_clinician):
    second = CaseFactory(primary_clinician=clinician)
    return {
        "old_warning": raise_alert(clinic.own_case, "elevated_bp", "warning", 10),
        "new_urgent": raise_alert(second, "fentanyl_positive", "urgent", 1),
        "old_urgent": raise_alert(clinic.own_case, "suicide_risk", "urgent", 5),
        "new_warning": raise_alert(second, "liver_injury", "warning", 2),
        "acknowledged": raise_alert(second, "withdrawal_moderate", "warning", 3, "acknowledged", clinician),
        "resolved": raise_alert(clinic.own_case, "suicide_risk", "urgent", 20, "resolved", clinician),
        "someone_elses": raise_alert(clinic.other_case, "suicide_risk", "urgent", 30),
    }


def test_the_worklist_is_open_alerts_over_the_caseload_urgent_first_then_oldest(as_user, worklist):
    response = as_user("clinician").get(LIST_URL, {"status": "open"})

    assert [row["id"] for row in response.json()["results"]] == [
        str(worklist[key].pk) for key in ("old_urgent", "new_urgent", "old_warning", "new_warning")
    ]


def test_every_alert_of_the_caseload_is_listed_in_the_same_order(as_user, worklist):
    response = as_user("clinician").get(LIST_URL)

    assert [row["id"] for row in response.json()["results"]] == [
        str(worklist[key].pk)
        for key in ("resolved", "old_urgent", "new_urgent", "old_warning", "acknowledged", "new_warning")
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "acknowledged"}, {"acknowledged"}),
        ({"status": "resolved"}, {"resolved"}),
        ({"severity": "urgent"}, {"old_urgent", "new_urgent", "resolved", "someone_elses"}),
        ({"severity": "urgent", "status": "open"}, {"old_urgent", "new_urgent", "someone_elses"}),
        ({"kind": "suicide_risk"}, {"old_urgent", "resolved", "someone_elses"}),
        ({"case": "own_case"}, {"old_warning", "old_urgent", "resolved"}),
        ({"patient": "other_patient"}, {"someone_elses"}),
    ],
)
def test_alert_filters(as_user, clinic, worklist, query, expected):
    values = {"own_case": str(clinic.own_case.pk), "other_patient": str(clinic.other_patient.pk)}

    response = as_user("supervisor").get(LIST_URL, {key: values.get(v, v) for key, v in query.items()})

    assert ids(response) == {str(worklist[key].pk) for key in expected}


# Acknowledge and resolve.


def test_acknowledging_records_who_when_and_the_note(as_user, records, clinician):
    alert = records.own["alerts"]

    response = as_user("clinician").post(acknowledge_url(alert), {"note": "Left a voicemail."}, format="json")

    assert response.status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledge_note) == (
        "acknowledged",
        clinician,
        "Left a voicemail.",
    )
    assert alert.acknowledged_at is not None
    assert alert.resolved_at is None
    body = response.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledge_note"]) == (
        "acknowledged",
        str(clinician.pk),
        "Left a voicemail.",
    )


def test_an_acknowledged_alert_leaves_the_open_worklist_and_resolving_it_keeps_both_notes(
    as_user, records, clinician, supervisor
):
    alert = records.own["alerts"]
    as_user("clinician").post(acknowledge_url(alert), {"note": "Left a voicemail."}, format="json")
    open_after_ack = as_user("clinician").get(LIST_URL, {"status": "open"})

    response = as_user("supervisor").post(resolve_url(alert), {"note": "Back in care."}, format="json")

    assert ids(open_after_ack) == set()
    assert response.status_code == 200
    alert.refresh_from_db()
    assert (
        alert.status,
        alert.acknowledged_by,
        alert.acknowledge_note,
        alert.resolved_by,
        alert.resolve_note,
    ) == (
        "resolved",
        clinician,
        "Left a voicemail.",
        supervisor,
        "Back in care.",
    )


def test_resolving_an_open_alert_also_marks_it_seen(as_user, records, clinician):
    alert = records.own["alerts"]

    response = as_user("clinician").post(resolve_url(alert), {"note": "Seen today."}, format="json")

    assert response.status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by, alert.acknowledged_by) == ("resolved", clinician, clinician)
    assert alert.resolved_at is not None
    assert alert.acknowledged_at is not None


@pytest.mark.parametrize(
    ("first", "then"),
    [("resolve", "acknowledge"), ("resolve", "resolve"), ("acknowledge", "acknowledge")],
)
def test_settling_an_alert_again_is_a_409_and_changes_nothing(as_user, records, first, then):
    alert = records.own["alerts"]
    client = as_user("clinician")
    call(client, first, alert)
    before = stored(alert)

    response = call(client, then, alert)

    assert response.status_code == 409
    assert "detail" in response.json()
    assert stored(alert) == before


@pytest.mark.parametrize("endpoint", ["acknowledge", "resolve"])
@pytest.mark.parametrize(
    "body", [{}, {"note": ""}, {"note": "   "}, {"note": None}, {"note": ["ok"]}, {"note": "x" * 2001}]
)
def test_settling_needs_a_note(as_user, records, endpoint, body):
    alert = records.own["alerts"]
    url = acknowledge_url(alert) if endpoint == "acknowledge" else resolve_url(alert)

    response = as_user("clinician").post(url, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["note"]
    assert stored(alert)["status"] == "open"


# Alerts raised by data arriving through other endpoints.


@pytest.mark.parametrize(
    ("systolic", "diastolic", "kind", "severity"),
    [
        (185, 100, "hypertensive_crisis", "urgent"),
        (170, 125, "hypertensive_crisis", "urgent"),
        (145, 85, "elevated_bp", "warning"),
        (130, 90, "elevated_bp", "warning"),
        (180, 120, "elevated_bp", "warning"),  # crisis is above 180 / 120
        (135, 85, None, None),
    ],
)
def test_blood_pressure_logged_on_a_visit_raises_the_alert_its_class_calls_for(
    as_user, clinic, systolic, diastolic, kind, severity
):
    client = as_user("clinician")

    response = client.patch(
        f"/api/v1/visits/{clinic.own_visit.pk}/",
        {"bp_systolic": systolic, "bp_diastolic": diastolic},
        format="json",
    )
    worklist = client.get(LIST_URL, {"status": "open"}).json()["results"]

    assert response.status_code == 200
    assert [(row["kind"], row["severity"]) for row in worklist] == ([(kind, severity)] if kind else [])
    if kind:
        alert = Alert.objects.get()
        assert (alert.case, alert.source_type, alert.source_id) == (
            clinic.own_case,
            "visit",
            clinic.own_visit.pk,
        )
        assert f"{systolic}/{diastolic}" in alert.message


def test_a_new_urgent_alert_goes_to_the_top_of_the_worklist(as_user, clinic, worklist):
    client = as_user("clinician")
    client.patch(
        f"/api/v1/visits/{clinic.own_visit.pk}/", {"bp_systolic": 185, "bp_diastolic": 100}, format="json"
    )

    rows = client.get(LIST_URL, {"status": "open"}).json()["results"]

    assert [row["severity"] for row in rows] == ["urgent", "urgent", "urgent", "warning", "warning"]
    assert rows[2]["kind"] == "hypertensive_crisis"  # urgent, and the newest of the urgent ones


def test_an_unresolved_alert_is_not_raised_twice_but_a_resolved_one_is_raised_again(as_user, clinic):
    client = as_user("clinician")
    screen = {"case": str(clinic.own_case.pk), "collected_on": timezone.localdate().isoformat()}
    positive = {**screen, "results": {"fentanyl": "positive"}}

    client.post("/api/v1/drug-screens/", positive, format="json")
    client.post("/api/v1/drug-screens/", positive, format="json")
    first = Alert.objects.get()
    client.post(resolve_url(first), {"note": "Naloxone kit given."}, format="json")
    client.post("/api/v1/drug-screens/", positive, format="json")

    assert list(Alert.objects.order_by("raised_at").values_list("status", flat=True)) == ["resolved", "open"]


def test_front_desk_marking_a_no_show_raises_an_alert_front_desk_cannot_read(as_user, clinic):
    for days_ago in (3, 2):
        visit = Visit.objects.create(
            case=clinic.own_case,
            clinician=clinic.own_visit.clinician,
            visit_type="individual_counseling",
            scheduled_at=timezone.now() - dt.timedelta(days=days_ago),
        )
        response = as_user("front_desk").patch(
            f"/api/v1/visits/{visit.pk}/", {"status": "no_show"}, format="json"
        )
        assert response.status_code == 200

    assert as_user("front_desk").get(LIST_URL).status_code == 403
    assert [row["kind"] for row in as_user("clinician").get(LIST_URL).json()["results"]] == [
        "engagement_risk"
    ]


# Query counts: the bound holds for 5 rows and for 60.

LIST_QUERIES = 4 + AUDIT_APPEND_QUERIES  # groups, count, page, the page's evidence; then the audit event
DETAIL_QUERIES = 3 + AUDIT_APPEND_QUERIES  # groups, alert, its evidence; then the audit event


@pytest.mark.parametrize("query", [{}, {"status": "open"}])
@pytest.mark.parametrize("rows", [5, 60])
def test_alert_list_query_count_does_not_grow_with_rows(
    as_user, many_records, rows, query, django_assert_max_num_queries
):
    many_records("alerts", rows)
    client = as_user("clinician")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(LIST_URL, {"page_size": 60, **query})

    # One open alert per case and kind (5 cases): the rest of the rows are resolved.
    assert len(response.json()["results"]) == (rows if not query else min(rows, 5 * len(Alert.Kind.values)))


@pytest.mark.parametrize(("url", "bound"), [("list", LIST_QUERIES), ("detail", DETAIL_QUERIES)])
def test_alert_query_bounds_are_tight(as_user, records, url, bound):
    client = as_user("clinician")

    with CaptureQueriesContext(connection) as queries:
        client.get(LIST_URL if url == "list" else detail_url(records.own["alerts"]))

    assert len(queries) == bound


def test_alert_list_is_paginated(as_user, records):
    body = as_user("supervisor").get(LIST_URL, {"page_size": 1}).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], len(body["results"]), body["next"] is not None) == (2, 1, True)


# --- Evidence (SPEC section 5, version 2) ---

PHQ9_Q9 = {"q1": 2, "q2": 2, "q3": 0, "q4": 0, "q5": 0, "q6": 0, "q7": 0, "q8": 0}


def test_an_alert_carries_its_evidence_newest_first_with_struck_entries(as_user, clinic):
    client = as_user("clinician")
    case = str(clinic.own_case.pk)
    posted = []
    for q9, hours in ((2, 3), (1, 1)):
        response = client.post(
            "/api/v1/assessments/",
            {
                "case": case,
                "instrument": "phq9",
                "responses": PHQ9_Q9 | {"q9": q9},
                "administered_at": (timezone.now() - dt.timedelta(hours=hours)).isoformat(),
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        posted.append(response.json()["id"])
    from cases.models import Assessment
    from cases.services.clinical import assessment_mark_entered_in_error

    assessment_mark_entered_in_error(
        assessment=Assessment.objects.get(pk=posted[0]), actor=clinic.own_visit.clinician, reason="Wrong form"
    )

    body = client.get(LIST_URL, {"case": case}).json()["results"]

    assert [(row["kind"], row["status"]) for row in body] == [("suicide_risk", "open")]
    evidence = body[0]["evidence"]
    assert [(e["type"], e["id"], e["struck"]) for e in evidence] == [
        ("assessment", posted[1], False),
        ("assessment", posted[0], True),
    ]
    assert set(evidence[0]) >= {"type", "id", "at", "summary", "struck"}
    assert "answered 1" in evidence[0]["summary"] and "answered 1" in body[0]["message"]


def test_an_acknowledged_alert_is_back_on_the_open_worklist_after_new_evidence(as_user, clinic):
    client = as_user("clinician")
    case = str(clinic.own_case.pk)

    def post(q9: int) -> None:
        body = {"case": case, "instrument": "phq9", "responses": PHQ9_Q9 | {"q9": q9}}
        assert client.post("/api/v1/assessments/", body, format="json").status_code == 201

    post(1)
    alert = Alert.objects.get(case=clinic.own_case, kind="suicide_risk")
    assert (
        client.post(acknowledge_url(alert), {"note": "Safety plan made."}, format="json").status_code == 200
    )
    assert alert.pk not in {row["id"] for row in client.get(LIST_URL, {"status": "open"}).json()["results"]}

    post(3)

    rows = {row["id"]: row for row in client.get(LIST_URL, {"status": "open"}).json()["results"]}
    assert str(alert.pk) in rows
    assert "answered 3" in rows[str(alert.pk)]["message"]
    assert rows[str(alert.pk)]["acknowledge_note"] == "Safety plan made."
