"""The audit trail: one event per change in the change's transaction, append-only, hash-chained, verifiable."""

import threading
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from cases.errors import ValidationFailed
from cases.models import StageTransition
from cases.services.stages import case_transition
from clinic.audit import GENESIS_HASH, audit_record, event_hash, verify_chain
from clinic.models import AuditEvent
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _tamper(sql: str, params: list[object]) -> None:
    """What an attacker with the database owner's rights does: drop the triggers, change a row."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush the deferred foreign-key checks first
            cursor.execute("DROP TRIGGER clinic_audit_no_update ON clinic_auditevent")
            cursor.execute("DROP TRIGGER clinic_audit_no_delete ON clinic_auditevent")
            cursor.execute(sql, params)
        else:
            cursor.execute("DROP TRIGGER clinic_audit_no_update")
            cursor.execute("DROP TRIGGER clinic_audit_no_delete")
            cursor.execute(sql, params)


def test_a_stage_change_writes_one_audit_event_naming_who_what_and_which_patient(own_case, clinician):
    case_transition(case=own_case, to_stage="assessment", actor=clinician)

    event = AuditEvent.objects.get(action="transition")
    assert (event.username, event.roles, event.object_type, event.object_id) == (
        "clinician",
        ["clinician"],
        "case",
        str(own_case.pk),
    )
    assert (event.patient_id, event.outcome, event.data_category) == (own_case.patient_id, "allowed", "case")
    assert event.detail == {"from": "intake", "to": "assessment"}


def test_a_refused_change_writes_no_audit_event(own_case, clinician):
    with pytest.raises(ValidationFailed):
        case_transition(case=own_case, to_stage="treatment", actor=clinician)

    assert not AuditEvent.objects.filter(action="transition").exists()


def test_when_the_audit_write_fails_the_change_does_not_happen(own_case, clinician):
    with (
        mock.patch("cases.services.stages.audit_record", side_effect=DatabaseError("audit down")),
        pytest.raises(DatabaseError),
    ):
        case_transition(case=own_case, to_stage="assessment", actor=clinician)

    own_case.refresh_from_db()
    assert own_case.stage == "intake"
    assert StageTransition.objects.filter(case=own_case).count() == 1


def test_events_form_a_chain_from_the_genesis_hash(clinician):
    first = audit_record(user=clinician, action="login")
    second = audit_record(user=clinician, action="logout")

    assert (first.sequence, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.sequence, second.prev_hash) == (2, first.hash)
    assert second.hash == event_hash(second)
    assert list(verify_chain()) == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE clinic_auditevent SET username = 'someone-else'", "DELETE FROM clinic_auditevent"],
)
def test_the_database_refuses_to_change_or_delete_audit_events(clinician, statement):
    audit_record(user=clinician, action="login")

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEvent.objects.filter(username="clinician").count() == 1


def test_the_orm_cannot_delete_audit_events_either(clinician):
    audit_record(user=clinician, action="login")

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_verify_audit_passes_on_an_intact_chain(clinician, capsys):
    for action in ("login", "view", "logout"):
        audit_record(user=clinician, action=action)

    call_command("verify_audit")

    assert "intact: 3 events" in capsys.readouterr().out


def test_verify_audit_names_the_first_edited_event(clinician):
    for action in ("login", "view", "view", "logout"):
        audit_record(user=clinician, action=action)
    _tamper("UPDATE clinic_auditevent SET action = 'list' WHERE sequence = %s", [2])

    with pytest.raises(CommandError, match=r"event #2: its content no longer matches its hash"):
        call_command("verify_audit")


def test_verify_audit_names_a_deleted_event(clinician):
    for action in ("login", "view", "view", "logout"):
        audit_record(user=clinician, action=action)
    _tamper("DELETE FROM clinic_auditevent WHERE sequence = %s", [3])

    with pytest.raises(CommandError, match=r"event #3 is missing"):
        call_command("verify_audit")


def test_verify_audit_catches_a_rehashed_event_by_the_broken_link(clinician):
    """Recomputing the edited event's own hash is not enough: the next event still points at the old one."""
    for action in ("login", "view", "logout"):
        audit_record(user=clinician, action=action)
    edited = AuditEvent.objects.get(sequence=2)
    edited.action = "list"
    _tamper(
        "UPDATE clinic_auditevent SET action = 'list', hash = %s WHERE sequence = 2", [event_hash(edited)]
    )

    with pytest.raises(CommandError, match=r"event #3: its prev_hash does not match"):
        call_command("verify_audit")


def test_each_response_carries_a_request_id_that_the_audit_records(client, clinician, own_case):
    client.force_login(clinician)
    response = client.post(
        f"/api/v1/cases/{own_case.pk}/transition/",
        {"to_stage": "assessment"},
        content_type="application/json",
    )

    assert response.status_code == 201
    event = AuditEvent.objects.get(action="transition")
    assert event.request_id == response["X-Request-ID"]
    assert event.ip == "127.0.0.1"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_appends_never_fork_the_chain():
    users = [UserFactory() for _ in range(6)]
    CaseFactory()
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def append(user):
        try:
            barrier.wait()
            for _ in range(5):
                audit_record(user=user, action="view")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 31)
    )
    assert list(verify_chain()) == []
