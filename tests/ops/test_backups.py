"""Backups and the restore drill on PostgreSQL: a dump restores into a fresh database with every table's rows and
an intact audit chain; a restore that differs from the backup's manifest fails the drill."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clinic.audit import audit_record
from clinic.backups import backup, latest_backup, restore_drill
from clinic.models import AuditEvent
from tests.factories import CaseFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
def some_records(transactional_db, clinician):
    """Committed rows (the dump is taken by another connection): cases, and audit events about them."""
    cases = CaseFactory.create_batch(3, primary_clinician=clinician)
    for case in cases:
        audit_record(
            user=clinician, action="view", object_type="case", object_id=case.pk, patient_id=case.patient_id
        )
    return cases


def test_a_backup_restores_with_equal_counts_and_an_intact_audit_chain(some_records, tmp_path, capsys):
    dump = backup(tmp_path)
    manifest = json.loads(dump.with_suffix(".json").read_text())

    call_command("restore_drill", "--directory", str(tmp_path))

    out = capsys.readouterr().out
    assert "Restore drill passed" in out
    assert "Audit: Audit trail intact" in out
    assert manifest["row_counts"]["cases_case"] == 3
    assert manifest["row_counts"]["clinic_auditevent"] == AuditEvent.objects.count()
    assert manifest["audit_head"]["last_event_id"] == AuditEvent.objects.order_by("-id").first().id


def test_the_drill_fails_when_the_restore_differs_from_the_manifest(some_records, tmp_path):
    dump = backup(tmp_path)
    manifest_path = dump.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    manifest["row_counts"]["cases_case"] += 1
    manifest_path.write_text(json.dumps(manifest))

    result = restore_drill(dump)

    assert result.ok is False
    assert result.mismatches == {"cases_case": (4, 3)}


def test_the_drill_checks_the_restored_seals_against_the_anchor_file(some_records, tmp_path, settings):
    from clinic.audit import seal_pending

    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "anchor.jsonl")
    [seal] = seal_pending()
    dump = backup(tmp_path / "backups")

    good = restore_drill(dump)
    anchored = json.loads((tmp_path / "anchor.jsonl").read_text())
    (tmp_path / "anchor.jsonl").write_text(json.dumps({**anchored, "hash": "0" * 64}) + "\n")
    forged = restore_drill(dump)

    assert (good.ok, good.anchor_ok) == (True, True), good.anchor_report
    assert "1 seals match the anchor" in good.anchor_report
    assert (forged.ok, forged.anchor_report) == (
        False,
        f"seal #{seal.sequence} differs from the anchor (or is missing from the restore)",
    )


def test_the_drill_drops_its_scratch_database(some_records, tmp_path):
    from django.db import connection

    result = restore_drill(backup(tmp_path))

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [result.scratch_database])
        assert cursor.fetchone()[0] == 0


def test_the_drill_names_a_missing_backup(tmp_path, db):
    with pytest.raises(CommandError, match="No backup"):
        call_command("restore_drill", "--directory", str(tmp_path))


def test_the_latest_backup_is_the_newest_file(tmp_path):
    for name in (
        "clinic-20260101T000000Z.dump",
        "clinic-20261203T080000Z.dump",
        "clinic-20250601T000000Z.dump",
    ):
        (tmp_path / name).write_bytes(b"")

    assert latest_backup(tmp_path).name == "clinic-20261203T080000Z.dump"
