""" "Who saw this patient" (the access log, `audit-events/?patient=`): events naming the patient and lists that
showed it, found on PostgreSQL through the GIN index on the listed ids (clinic.audit.ListedPatient,
clinic/migrations/0008), not by scanning every event's text."""

import uuid

import pytest
from django.db import connection, transaction

from clinic.audit import audit_record, newest_first_from_index, touching_patient
from clinic.models import AuditEvent


@pytest.fixture
def events(db):
    seen, other, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    named = audit_record(user=None, action=AuditEvent.Action.VIEW, object_type="patient", patient_id=seen)
    listed = audit_record(user=None, action=AuditEvent.Action.LIST, patients_seen=[other, seen, third])
    listed_last = audit_record(user=None, action=AuditEvent.Action.LIST, patients_seen=[third, seen])
    audit_record(user=None, action=AuditEvent.Action.LIST, patients_seen=[other, third])
    audit_record(user=None, action=AuditEvent.Action.VIEW, object_type="patient", patient_id=other)
    audit_record(user=None, action=AuditEvent.Action.LIST, patients_seen=[])
    return seen, {named.pk, listed.pk, listed_last.pk}


def test_events_naming_or_listing_the_patient_and_no_others(events):
    patient, expected = events

    assert set(AuditEvent.objects.filter(touching_patient(patient)).values_list("pk", flat=True)) == expected
    assert not AuditEvent.objects.filter(touching_patient(uuid.uuid4())).exists()


def test_a_patient_given_as_text_in_any_case_is_the_same_patient(events):
    patient, expected = events

    found = AuditEvent.objects.filter(touching_patient(str(patient).upper()))
    assert set(found.values_list("pk", flat=True)) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_the_listed_patients_are_read_from_the_gin_index(events):
    patient, _ = events
    query = AuditEvent.objects.filter(touching_patient(patient)).order_by(newest_first_from_index())[:50]
    sql, params = query.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: make the planner show its index
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_patients_seen_idx" in plan
    assert "audit_patient_time_idx" in plan
    assert "Backward" not in plan  # not the primary key walked newest first, testing every event


def test_newest_first_is_the_order_of_the_ids(events):
    patient, expected = events
    found = AuditEvent.objects.filter(touching_patient(patient)).order_by(newest_first_from_index())

    assert list(found.values_list("pk", flat=True)) == sorted(expected, reverse=True)
