"""Clinical events over the API (SPEC 3.6, section 5): roles and scoping like every clinical record, the shape,
the date and naloxone rules, urgent seizure / overdose alerts with their evidence, and entered in error."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.models import Alert, AlertEvidence, ClinicalEvent
from cases.services.alerts import alert_acknowledge
from cases.services.events import clinical_event_record
from clinic.models import AuditEvent
from tests.api.conftest import AUDIT_APPEND_QUERIES, ids
from tests.factories import ClosedCaseFactory

# The users and the clinic are built once for this module (tests/conftest.py): every test sees them.
pytestmark = pytest.mark.rows_built_once()

URL = "/api/v1/clinical-events/"
KEYS = {
    "id", "case", "kind", "occurred_on", "description", "related_to_kratom", "naloxone_given", "created_at",
    "created_by", "entered_in_error", "entered_in_error_reason", "entered_in_error_at", "entered_in_error_by",
}  # fmt: skip


def detail(event) -> str:
    return f"{URL}{event.pk}/"


def error_url(event) -> str:
    return f"{URL}{event.pk}/entered-in-error/"


def yesterday() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=1)


def body(case, **overrides) -> dict[str, object]:
    return {
        "case": str(case.pk),
        "kind": "emergency_visit",
        "occurred_on": yesterday().isoformat(),
        "description": "Seen at LMH emergency department for chest pain; discharged home.",
        "related_to_kratom": "unknown",
    } | overrides


def event_on(case, actor, kind="emergency_visit", **fields) -> ClinicalEvent:
    data = {"kind": kind, "occurred_on": yesterday(), "description": f"A {kind}."} | fields
    return clinical_event_record(case=case, actor=actor, data=data)


@pytest.fixture
def events(clinic, supervisor):
    """One (alert-free) event on `clinician`'s case and one on another clinician's."""
    return {"own": event_on(clinic.own_case, supervisor), "other": event_on(clinic.other_case, supervisor)}


# Roles and scope (SPEC section 2: clinical content, caseload clinicians and supervisors).


def call(client, action, clinic, events):
    return {
        "list": lambda: client.get(URL),
        "create": lambda: client.post(URL, body(clinic.own_case), format="json"),
        "retrieve": lambda: client.get(detail(events["own"])),
        "entered_in_error": lambda: client.post(
            error_url(events["own"]), {"reason": "Wrong chart."}, format="json"
        ),
    }[action]()


OK = {"list": 200, "create": 201, "retrieve": 200, "entered_in_error": 200}


@pytest.mark.parametrize("action", list(OK))
@pytest.mark.parametrize("role", ["anonymous", "front_desk", "administrator", "clinician", "supervisor"])
def test_role_gets_the_expected_status(as_user, clinic, events, role, action):
    expected = {"anonymous": 401, "front_desk": 403, "administrator": 403}.get(role, OK[action])
    before = (ClinicalEvent.objects.count(), ClinicalEvent.objects.filter(entered_in_error=True).count())

    response = call(as_user(role), action, clinic, events)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert (
            ClinicalEvent.objects.count(),
            ClinicalEvent.objects.filter(entered_in_error=True).count(),
        ) == before


def test_clinician_lists_only_their_caseloads_events_and_supervisor_all(as_user, events):
    assert ids(as_user("clinician").get(URL)) == {str(events["own"].pk)}
    assert ids(as_user("supervisor").get(URL)) == {str(events["own"].pk), str(events["other"].pk)}


@pytest.mark.parametrize("action", ["retrieve", "entered_in_error"])
def test_clinician_gets_404_for_an_event_outside_their_caseload_and_nothing_changes(as_user, events, action):
    other = events["other"]
    client = as_user("clinician")

    if action == "retrieve":
        response = client.get(detail(other))
    else:
        response = client.post(error_url(other), {"reason": "Not mine."}, format="json")

    assert response.status_code == 404
    assert ClinicalEvent.objects.get(pk=other.pk).entered_in_error is False
    assert AuditEvent.objects.filter(object_id=str(other.pk), outcome="denied").exists()


def test_recording_on_a_case_outside_the_caseload_is_a_400_naming_the_case(as_user, clinic):
    response = as_user("clinician").post(URL, body(clinic.other_case, kind="seizure"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["case"]
    assert not ClinicalEvent.objects.exists()
    assert not Alert.objects.exists()


def test_recording_on_a_closed_case_is_a_400_naming_the_case(as_user, clinician):
    closed = ClosedCaseFactory(primary_clinician=clinician)

    response = as_user("clinician").post(
        URL, body(closed, occurred_on=closed.opened_on.isoformat()), format="json"
    )

    assert response.status_code == 400
    assert "case" in response.json()
    assert not ClinicalEvent.objects.exists()


@pytest.mark.parametrize("key", ["case", "patient"])
def test_case_and_patient_filters(as_user, clinic, events, key):
    value = clinic.other_case.pk if key == "case" else clinic.other_patient.pk

    assert ids(as_user("supervisor").get(URL, {key: str(value)})) == {str(events["other"].pk)}
    assert ids(as_user("clinician").get(URL, {key: str(value)})) == set()


def test_kind_and_entered_in_error_filters(as_user, clinic, events, clinician):
    seizure = event_on(clinic.own_case, clinician, "seizure")
    as_user("clinician").post(error_url(events["own"]), {"reason": "Duplicate."}, format="json")

    assert ids(as_user("clinician").get(URL, {"kind": "seizure"})) == {str(seizure.pk)}
    assert ids(as_user("clinician").get(URL, {"entered_in_error": "false"})) == {str(seizure.pk)}
    assert as_user("clinician").get(URL, {"kind": "fall"}).status_code == 400


# Shape and storage.


@pytest.mark.parametrize("action", ["list", "retrieve", "create"])
def test_shape(as_user, clinic, events, action):
    response = call(as_user("clinician"), action, clinic, events)

    row = response.json()["results"][0] if action == "list" else response.json()
    assert set(row) == KEYS


def test_an_overdose_is_stored_and_shown_as_sent_by_who_sent_it(as_user, clinic, clinician):
    sent = body(
        clinic.own_case, kind="overdose", related_to_kratom="yes", naloxone_given=True,
        description="Found unresponsive after 7-OH tablets; two doses of nasal naloxone by a friend.",
    )  # fmt: skip

    response = as_user("clinician").post(URL, sent, format="json")

    assert response.status_code == 201, response.content
    event = ClinicalEvent.objects.get()
    assert (event.kind, event.occurred_on, event.related_to_kratom, event.naloxone_given, event.created_by) == (
        "overdose", yesterday(), "yes", True, clinician,
    )  # fmt: skip
    shown = response.json()
    assert {key: shown[key] for key in sent} == sent
    assert shown["id"] == str(event.pk) and shown["entered_in_error"] is False
    assert AuditEvent.objects.filter(
        action="create",
        object_type="clinicalevent",
        object_id=str(event.pk),
        patient_id=clinic.own_patient.pk,
    ).exists()


def test_related_to_kratom_defaults_to_unknown_and_naloxone_to_null(as_user, clinic):
    sent = body(clinic.own_case)
    del sent["related_to_kratom"]

    response = as_user("clinician").post(URL, sent, format="json")

    assert (response.json()["related_to_kratom"], response.json()["naloxone_given"]) == ("unknown", None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "fall"}, "kind"),
        ({"kind": None}, "kind"),
        ({"related_to_kratom": "maybe"}, "related_to_kratom"),
        ({"occurred_on": "yesterday"}, "occurred_on"),
        ({"occurred_on": None}, "occurred_on"),
        ({"description": ""}, "description"),
        ({"description": "x" * 20001}, "description"),
        ({"description": "nul\x00byte"}, "description"),
        ({"kind": "seizure", "naloxone_given": True}, "naloxone_given"),
        ({"kind": "hospitalization", "naloxone_given": False}, "naloxone_given"),
        ({"kind": "overdose", "naloxone_given": "perhaps"}, "naloxone_given"),
        ({"severity": "urgent"}, "severity"),
        ({"entered_in_error": True}, "entered_in_error"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(as_user, clinic, overrides, field):
    response = as_user("clinician").post(URL, body(clinic.own_case, **overrides), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ClinicalEvent.objects.exists()
    assert not Alert.objects.exists()


def test_a_missing_date_is_a_400_naming_it(as_user, clinic):
    sent = body(clinic.own_case)
    del sent["occurred_on"]

    response = as_user("clinician").post(URL, sent, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["occurred_on"]


@pytest.mark.parametrize(
    ("days", "accepted"),
    [(1, False), (0, True), ("opened", True), ("before_opened", False)],
    ids=["tomorrow", "today", "the-day-the-case-opened", "the-day-before"],
)
def test_the_date_is_neither_in_the_future_nor_before_the_case_opened(as_user, clinic, days, accepted):
    case = clinic.own_case
    case.opened_on = timezone.localdate() - dt.timedelta(days=20)
    case.save(update_fields=["opened_on"])
    day = {
        "opened": case.opened_on,
        "before_opened": case.opened_on - dt.timedelta(days=1),
    }.get(days) or timezone.localdate() + dt.timedelta(days=days)  # type: ignore[operator]

    response = as_user("clinician").post(URL, body(case, occurred_on=day.isoformat()), format="json")

    assert response.status_code == (201 if accepted else 400), response.content
    if not accepted:
        assert list(response.json()) == ["occurred_on"]
    assert ClinicalEvent.objects.exists() is accepted


@pytest.mark.parametrize("method", ["patch", "put", "delete"])
def test_a_recorded_event_is_never_changed_or_deleted(as_user, events, method):
    response = getattr(as_user("supervisor"), method)(
        detail(events["own"]), {"kind": "seizure"}, format="json"
    )

    assert response.status_code == 405
    assert ClinicalEvent.objects.get(pk=events["own"].pk).kind == "emergency_visit"


# Alerts (SPEC section 5): seizure and overdose, urgent, in the same transaction, with the event as evidence.


@pytest.mark.parametrize("kind", ["seizure", "overdose"])
def test_a_seizure_or_overdose_raises_its_urgent_alert_with_the_event_as_evidence(as_user, clinic, kind):
    client = as_user("clinician")

    recorded = client.post(URL, body(clinic.own_case, kind=kind, related_to_kratom="yes"), format="json")
    worklist = client.get("/api/v1/alerts/", {"status": "open"}).json()["results"]

    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.status, alert.case) == (kind, "urgent", "open", clinic.own_case)
    assert str(yesterday()) in alert.message and "related to kratom" in alert.message
    (row,) = worklist
    assert row["id"] == str(alert.pk)
    assert [(e["type"], e["id"], e["struck"]) for e in row["evidence"]] == [
        ("clinicalevent", recorded.json()["id"], False)
    ]


@pytest.mark.parametrize("kind", ["emergency_visit", "hospitalization"])
def test_an_emergency_visit_or_hospitalization_raises_no_alert(as_user, clinic, kind):
    response = as_user("clinician").post(URL, body(clinic.own_case, kind=kind), format="json")

    assert response.status_code == 201
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("given", "words"), [(True, "naloxone given"), (False, "no naloxone given"), (None, "naloxone not known")]
)
def test_the_overdose_alert_says_whether_naloxone_was_given(as_user, clinic, given, words):
    as_user("clinician").post(
        URL, body(clinic.own_case, kind="overdose", naloxone_given=given), format="json"
    )

    assert words in Alert.objects.get(kind="overdose").message


def test_a_failed_alert_write_rolls_the_event_back(as_user, clinic, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("alert store down")

    monkeypatch.setattr("cases.services.clinical.alerts_check", broken)
    client = as_user("clinician")
    client.raise_request_exception = False

    response = client.post(URL, body(clinic.own_case, kind="seizure"), format="json")

    assert response.status_code == 500
    assert not ClinicalEvent.objects.exists()


def test_marking_the_event_entered_in_error_strikes_its_evidence_and_resolves_the_alert(
    as_user, clinic, clinician
):
    seizure = event_on(clinic.own_case, clinician, "seizure")

    response = as_user("clinician").post(
        error_url(seizure), {"reason": "Another patient's event."}, format="json"
    )

    assert response.status_code == 200
    shown = response.json()
    assert (shown["entered_in_error"], shown["entered_in_error_reason"], shown["entered_in_error_by"]) == (
        True, "Another patient's event.", str(clinician.pk),
    )  # fmt: skip
    alert = Alert.objects.get()
    assert (alert.status, alert.resolve_note, alert.resolved_by) == (
        "resolved", "source entered in error", clinician,
    )  # fmt: skip
    assert AlertEvidence.objects.get().struck is True
    assert AuditEvent.objects.filter(
        object_type="clinicalevent", action="update", object_id=str(seizure.pk)
    ).exists()


def test_a_valid_seizure_keeps_the_alert_open_when_a_wrong_one_is_struck(as_user, clinic, clinician):
    wrong = event_on(clinic.own_case, clinician, "seizure", occurred_on=yesterday() - dt.timedelta(days=2))
    right = event_on(clinic.own_case, clinician, "seizure")

    as_user("clinician").post(error_url(wrong), {"reason": "Typed on the wrong chart."}, format="json")

    alert = Alert.objects.get()
    assert (alert.status, alert.severity) == ("open", "urgent")
    evidence = {str(e.source_id): e.struck for e in alert.evidence.all()}
    assert evidence == {str(wrong.pk): True, str(right.pk): False}


def test_a_new_seizure_reopens_an_acknowledged_alert(as_user, clinic, clinician):
    first = event_on(clinic.own_case, clinician, "seizure", occurred_on=yesterday() - dt.timedelta(days=3))
    alert_acknowledge(alert=Alert.objects.get(), actor=clinician, note="Neurology referral made.")

    response = as_user("clinician").post(URL, body(clinic.own_case, kind="seizure"), format="json")

    alert = Alert.objects.get()
    assert (alert.status, alert.acknowledge_note) == ("open", "Neurology referral made.")
    assert alert.reopened_at is not None
    assert {str(e.source_id) for e in alert.evidence.all()} == {str(first.pk), response.json()["id"]}


def test_entered_in_error_needs_a_reason_and_happens_once(as_user, events):
    client = as_user("clinician")
    assert client.post(error_url(events["own"]), {}, format="json").status_code == 400
    assert client.post(error_url(events["own"]), {"reason": "  "}, format="json").status_code == 400
    assert client.post(error_url(events["own"]), {"reason": "Duplicate."}, format="json").status_code == 200

    again = client.post(error_url(events["own"]), {"reason": "Again."}, format="json")

    assert again.status_code == 400
    assert list(again.json()) == ["reason"]
    assert ClinicalEvent.objects.get(pk=events["own"].pk).entered_in_error_reason == "Duplicate."


# Query counts: the bound holds for 5 rows and for 60.

LIST_QUERIES = 3 + AUDIT_APPEND_QUERIES  # groups, count, page; then the audit event of the read
DETAIL_QUERIES = 2 + AUDIT_APPEND_QUERIES


@pytest.mark.parametrize("rows", [5, 60])
def test_list_query_count_does_not_grow_with_rows(
    as_user, clinic, supervisor, rows, django_assert_max_num_queries
):
    ClinicalEvent.objects.bulk_create(
        ClinicalEvent(
            case=clinic.own_case, kind="hospitalization", occurred_on=timezone.localdate(),
            description=f"Stay {n}.", created_by=supervisor,
        )
        for n in range(rows)
    )  # fmt: skip
    client = as_user("clinician")

    with django_assert_max_num_queries(LIST_QUERIES):
        response = client.get(URL, {"page_size": 60})

    assert len(response.json()["results"]) == rows


def test_detail_query_count(as_user, events, django_assert_max_num_queries):
    client = as_user("clinician")

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = client.get(detail(events["own"]))

    assert response.status_code == 200
