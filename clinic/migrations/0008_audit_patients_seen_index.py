"""A GIN index on the ids of the patients a list showed (`string_to_array(patients_seen, ' ')`), so that "who saw
this patient" (the access log, `audit-events/?patient=`) reads the index instead of scanning every event's text
(clinic.audit.ListedPatient; docs/audit.md). PostgreSQL only; built CONCURRENTLY (outside a transaction), so that
audit appends, which every request makes, are never held off while it builds. The events and their hashes are
untouched: an index is not part of an event's content."""

from django.db import migrations

from clinic.migrations._append_only import reinstall_on_sqlite

INDEX = "audit_patients_seen_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")  # an invalid one left by a failed build
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY {INDEX} ON clinic_auditevent USING gin (string_to_array(patients_seen, ' '))"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("clinic", "0007_access_changes")]

    operations = [
        migrations.RunPython(create, drop),
        migrations.RunPython(reinstall_on_sqlite, migrations.RunPython.noop),
    ]
