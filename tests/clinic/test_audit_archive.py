"""Six-year retention (docs/audit.md "Retention"): the events of whole seals written to an archive file that
`verify_audit --archive` reads in place of the rows, so the trail still verifies once the owner removed them;
an altered archive, a row removed without its archive, and a seal younger than six years are caught."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from clinic.audit import audit_record, seal_pending
from clinic.audit_archive import ArchiveError, event_from_record, event_record, write_archive
from clinic.migrations._append_only import SEAL_SQLITE_DOWN, SEAL_SQLITE_UP, SQLITE_DOWN, SQLITE_UP
from clinic.models import AuditEvent, AuditSeal


def _remove_as_owner(through_seal: int) -> int:
    """The owner's step after archiving: the rows of seals 1 to N deleted with the triggers lifted."""
    seal = AuditSeal.objects.get(sequence=through_seal)
    sql = "DELETE FROM clinic_auditevent WHERE txid < %s OR (txid = %s AND id <= %s)"
    params = [seal.last_txid, seal.last_txid, seal.last_event_id]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE clinic_auditevent DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            removed = cursor.rowcount
            cursor.execute("ALTER TABLE clinic_auditevent ENABLE TRIGGER USER")
        else:
            for statement in SQLITE_DOWN + SEAL_SQLITE_DOWN:
                cursor.execute(statement)
            cursor.execute(sql, params)
            removed = cursor.rowcount
            for statement in SQLITE_UP + SEAL_SQLITE_UP:
                cursor.execute(statement)
    return removed


@pytest.fixture
def trail(clinician):
    """Two seals, then an event not sealed yet."""
    for action in ("login", "view", "view"):
        audit_record(user=clinician, action=action, detail={"note": "é", "n": 1.5})
    seal_pending()
    for action in ("view", "logout"):
        audit_record(user=clinician, action=action)
    seal_pending()
    audit_record(user=clinician, action="login")
    return AuditSeal.objects.order_by("sequence")


def test_an_event_comes_back_from_its_record_with_the_same_hash(trail):
    for event in AuditEvent.objects.all():
        again = event_from_record(json.loads(json.dumps(event_record(event))))
        assert event_record(again) == event_record(event)


def test_archived_then_removed_the_trail_still_verifies(trail, tmp_path, capsys):
    archive = tmp_path / "audit-seal-1.jsonl"
    assert write_archive(1, archive, allow_recent=True) == 3
    call_command("verify_audit", "--archive", str(archive))  # archived, rows still there: each once

    assert _remove_as_owner(1) == 3
    with pytest.raises(CommandError, match=r"seal #1: it covers 3 events but 0 are in its range"):
        call_command("verify_audit")
    capsys.readouterr()
    call_command("verify_audit", "--archive", str(archive))
    assert "Audit trail intact: 6 events, 2 seals, 1 events not sealed yet" in capsys.readouterr().out


def test_an_altered_archive_is_caught(trail, tmp_path):
    archive = tmp_path / "audit.jsonl"
    write_archive(1, archive, allow_recent=True)
    lines = archive.read_text().splitlines()
    lines[2] = lines[2].replace('"view"', '"login"')
    archive.write_text("\n".join(lines) + "\n")

    with pytest.raises(CommandError, match=r"its archived copy differs from the row"):
        call_command("verify_audit", "--archive", str(archive))
    _remove_as_owner(1)
    with pytest.raises(CommandError, match=r"its content no longer matches its hash"):
        call_command("verify_audit", "--archive", str(archive))


def test_only_seals_older_than_six_years_and_never_over_a_file(trail, tmp_path):
    with pytest.raises(ArchiveError, match="younger than the six years kept"):
        write_archive(1, tmp_path / "a.jsonl")
    with pytest.raises(CommandError, match="There is no seal #9"):
        call_command("archive_audit", "--through-seal", "9", "--out", str(tmp_path / "b.jsonl"))
    (tmp_path / "c.jsonl").write_text("")
    with pytest.raises(CommandError, match="never overwritten"):
        call_command(
            "archive_audit", "--through-seal", "1", "--out", str(tmp_path / "c.jsonl"), "--allow-recent"
        )
    with pytest.raises(CommandError, match="not an audit archive"):
        call_command("verify_audit", "--archive", str(tmp_path / "c.jsonl"))
