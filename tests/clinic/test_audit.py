"""The audit trail: one event per change in the change's transaction, append-only, sealed in a chain, verifiable."""

import datetime as dt
import hashlib
import threading
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.models import StageTransition
from cases.services.stages import case_transition
from clinic.audit import (
    GENESIS_HASH,
    anchor_line,
    audit_record,
    event_hash,
    merkle_root,
    seal_of,
    seal_pending,
    unsealed_lag_seconds,
    verify_trail,
)
from clinic.migrations._append_only import SEAL_SQLITE_DOWN, SEAL_SQLITE_UP, SQLITE_DOWN, SQLITE_UP
from clinic.models import AuditEvent, AuditSeal
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _tamper(sql: str, params: list[object]) -> None:
    """What an attacker with the database owner's rights does: lift the triggers, change rows, put them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush the deferred foreign-key checks first
            for table in ("clinic_auditevent", "clinic_auditseal"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            for table in ("clinic_auditevent", "clinic_auditseal"):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for statement in SQLITE_DOWN + SEAL_SQLITE_DOWN:
                cursor.execute(statement)
            cursor.execute(sql, params)
            for statement in SQLITE_UP + SEAL_SQLITE_UP:
                cursor.execute(statement)


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


def test_an_append_is_one_insert_and_takes_no_lock(clinician, django_assert_num_queries):
    assert clinician.roles  # read once per request, before the audit
    with django_assert_num_queries(1) as captured:
        audit_record(user=clinician, action="login")

    assert captured.captured_queries[0]["sql"].startswith("INSERT")
    assert "lock" not in captured.captured_queries[0]["sql"].lower()


def test_each_event_hashes_its_own_content_and_carries_its_transaction(clinician, is_postgres):
    with transaction.atomic():
        first = audit_record(user=clinician, action="login")
        second = audit_record(user=clinician, action="logout")

    assert (first.sequence, first.prev_hash, second.prev_hash) == (None, "", "")
    assert first.hash == event_hash(first) and second.hash == event_hash(second)
    stored = AuditEvent.objects.get(pk=second.pk)
    assert stored.txid == second.txid == first.txid
    assert (stored.txid > 0) is is_postgres


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE clinic_auditevent SET username = 'someone-else'",
        "DELETE FROM clinic_auditevent",
        "UPDATE clinic_auditseal SET event_count = 99",
        "DELETE FROM clinic_auditseal",
    ],
)
def test_the_database_refuses_to_change_or_delete_audit_events_and_seals(clinician, statement):
    audit_record(user=clinician, action="login")
    seal_pending()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEvent.objects.filter(username="clinician").count() == 1
    assert AuditSeal.objects.get().event_count == 1


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["clinic_auditevent", "clinic_auditseal"])
def test_the_database_refuses_to_truncate_audit_tables(clinician, table):
    audit_record(user=clinician, action="login")
    seal_pending()

    with (
        pytest.raises(DatabaseError, match="cannot be truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {table} CASCADE")

    assert AuditEvent.objects.count() == 1


def test_the_orm_cannot_delete_audit_events_either(clinician):
    audit_record(user=clinician, action="login")

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()


def test_verify_audit_passes_on_a_sealed_trail(clinician, capsys):
    for action in ("login", "view", "logout"):
        audit_record(user=clinician, action=action)
    seal_pending()
    audit_record(user=clinician, action="view")

    call_command("verify_audit")

    assert "intact: 4 events, 1 seals, 1 events not sealed yet" in capsys.readouterr().out


def test_verify_audit_names_the_first_edited_event(clinician):
    events = [audit_record(user=clinician, action=action) for action in ("login", "view", "view", "logout")]
    seal_pending()
    _tamper("UPDATE clinic_auditevent SET action = 'list' WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError, match=rf"event #{events[1].pk}: its content no longer matches its hash"):
        call_command("verify_audit")


def test_verify_audit_catches_a_rehashed_event_by_its_seal(clinician):
    """Recomputing the edited event's own hash is not enough: its seal's Merkle root no longer fits."""
    events = [audit_record(user=clinician, action=action) for action in ("login", "view", "logout")]
    seal_pending()
    edited = AuditEvent.objects.get(pk=events[1].pk)
    edited.action = "list"
    _tamper(
        "UPDATE clinic_auditevent SET action = 'list', hash = %s WHERE id = %s",
        [event_hash(edited), edited.pk],
    )

    with pytest.raises(
        CommandError, match=r"seal #1: the events in its range no longer give its Merkle root"
    ):
        call_command("verify_audit")


def test_verify_audit_names_the_seal_an_event_was_deleted_from(clinician):
    events = [audit_record(user=clinician, action=action) for action in ("login", "view", "view", "logout")]
    seal_pending()
    audit_record(user=clinician, action="view")
    seal_pending()
    _tamper("DELETE FROM clinic_auditevent WHERE id = %s", [events[2].pk])

    with pytest.raises(CommandError, match=r"seal #1: it covers 4 events but 3 are in its range"):
        call_command("verify_audit")


def test_verify_audit_catches_an_event_slipped_into_a_sealed_range(clinician):
    audit_record(user=clinician, action="login")
    seal_pending()
    forged = audit_record(user=clinician, action="view")
    _tamper("UPDATE clinic_auditevent SET txid = -1 WHERE id = %s", [forged.pk])

    with pytest.raises(CommandError, match=r"seal #1: it covers 1 events but 2 are in its range"):
        call_command("verify_audit")


def test_verify_audit_names_a_missing_or_edited_seal(clinician):
    for action in ("login", "view", "logout"):
        audit_record(user=clinician, action=action)
        seal_pending()
    _tamper("UPDATE clinic_auditseal SET event_count = 2 WHERE sequence = 3", [])

    with pytest.raises(CommandError, match=r"seal #3: its content no longer matches its hash"):
        call_command("verify_audit")

    _tamper("DELETE FROM clinic_auditseal WHERE sequence = 2", [])

    with pytest.raises(CommandError, match=r"seal #3: seal #2 is missing"):
        call_command("verify_audit")


def test_a_removed_tail_is_caught_by_the_anchor(
    clinician, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchor.jsonl")
    for action in ("login", "logout"):
        audit_record(user=clinician, action=action)
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seal_audit", "--once")
    call_command("verify_audit", "--anchor", settings.AUDIT_ANCHOR_FILE)
    last = AuditSeal.objects.get(sequence=2)
    # The owner removes the newest seal and its events: the rest still chains, only the anchor knows.
    _tamper("DELETE FROM clinic_auditevent WHERE id = %s", [last.last_event_id])
    _tamper("DELETE FROM clinic_auditseal WHERE sequence = 2", [])

    call_command("verify_audit")
    with pytest.raises(CommandError, match=r"seal #2: the anchor names it but the database has no such seal"):
        call_command("verify_audit", "--anchor", settings.AUDIT_ANCHOR_FILE)


def test_the_anchor_file_gets_one_line_per_seal(
    clinician, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchor.jsonl")
    audit_record(user=clinician, action="login")

    with django_capture_on_commit_callbacks(execute=True):
        [seal] = seal_pending()

    assert (tmp_path / "anchor.jsonl").read_text().splitlines() == [anchor_line(seal)]


def test_verify_audit_reports_events_left_unsealed_past_the_interval(clinician):
    five_minutes_ago = timezone.now() - dt.timedelta(minutes=5)
    with mock.patch("clinic.audit.timezone.now", return_value=five_minutes_ago):
        audit_record(user=clinician, action="login")

    assert 299 < unsealed_lag_seconds() < 320
    with pytest.raises(CommandError, match=r"1 events older than 60 s are not sealed"):
        call_command("verify_audit")


def test_the_lag_is_zero_once_every_event_is_sealed(clinician):
    audit_record(user=clinician, action="login")
    seal_pending()

    assert unsealed_lag_seconds() == 0.0


def test_seals_chain_and_cover_every_event_once_in_order(clinician):
    events = [audit_record(user=clinician, action="view") for _ in range(5)]

    seals = seal_pending(batch_size=2)

    assert [(s.sequence, s.event_count) for s in seals] == [(1, 2), (2, 2), (3, 1)]
    assert [s.prev_hash for s in seals] == [GENESIS_HASH, seals[0].hash, seals[1].hash]
    assert seals[0].merkle_root == merkle_root([events[0].hash, events[1].hash])
    assert [seal_of(event).sequence for event in events] == [1, 1, 2, 2, 3]
    assert seal_pending() == []


def test_events_written_before_seals_keep_their_chain_and_are_sealed_first(clinician):
    legacy = []
    previous = GENESIS_HASH
    for sequence in (1, 2):
        event = AuditEvent(
            sequence=sequence, occurred_at=timezone.now(), username="old", action="view", outcome="allowed",
            prev_hash=previous, txid=0,  # as migration 0006 left them
        )  # fmt: skip
        event.hash = event_hash(event)
        event.save(force_insert=True)
        legacy.append(event)
        previous = event.hash
    newer = audit_record(user=clinician, action="login")

    [seal] = seal_pending()

    assert (seal.first_event_id, seal.last_event_id, seal.event_count) == (legacy[0].pk, newer.pk, 3)
    call_command("verify_audit")
    _tamper("UPDATE clinic_auditevent SET prev_hash = %s WHERE id = %s", ["f" * 64, legacy[1].pk])
    with pytest.raises(
        CommandError, match=rf"event #{legacy[1].pk}: its prev_hash does not match the previous"
    ):
        call_command("verify_audit")


@pytest.mark.parametrize("count", range(1, 18))
def test_the_merkle_root_is_rfc_6962s_tree_head(count):
    leaves = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(count)]

    def tree_head(items: list[bytes]) -> bytes:  # RFC 6962 section 2.1, as written
        if len(items) == 1:
            return hashlib.sha256(b"\x00" + items[0]).digest()
        split = 1 << ((len(items) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + tree_head(items[:split]) + tree_head(items[split:])).digest()

    assert merkle_root(leaves) == tree_head([bytes.fromhex(h) for h in leaves]).hex()


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
def test_concurrent_appends_all_land_and_seal_into_one_verified_trail():
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
    appended = AuditEvent.objects.filter(action="view")
    assert appended.count() == 30
    seal_pending()
    assert not AuditEvent.objects.filter(pk__in=appended.values("pk"), txid=0).exists()
    assert verify_trail() == []
    assert unsealed_lag_seconds() == 0.0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_of_a_transaction_still_open_is_never_skipped(clinician):
    """The sealer waits for the oldest running transaction: an event it cannot see yet is sealed later, in order,
    never passed over."""
    before = audit_record(user=clinician, action="login")
    written, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                audit_record(user=clinician, action="view", object_id="slow")
                written.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert written.wait(10)
    after = audit_record(user=clinician, action="logout")  # committed, but after the open transaction began

    first = seal_pending()
    release.set()
    thread.join()
    second = seal_pending()

    slow = AuditEvent.objects.get(object_id="slow")
    assert [(s.first_event_id, s.last_event_id) for s in first] == [(before.pk, before.pk)]
    assert [(s.first_event_id, s.last_event_id, s.event_count) for s in second] == [(slow.pk, after.pk, 2)]
    assert verify_trail() == []


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("proxy-3f2a9c1e-0b7d", True), ("bad id with spaces", False), ("x" * 200, False)],
)
def test_a_well_formed_incoming_request_id_is_kept_by_the_response_and_the_audit(
    client, clinician, own_case, incoming, kept
):
    client.force_login(clinician)
    response = client.post(
        f"/api/v1/cases/{own_case.pk}/transition/",
        {"to_stage": "assessment"},
        content_type="application/json",
        HTTP_X_REQUEST_ID=incoming,
    )

    assert response.status_code == 201
    event = AuditEvent.objects.get(action="transition")
    assert event.request_id == response["X-Request-ID"]
    assert (response["X-Request-ID"] == incoming) is kept
