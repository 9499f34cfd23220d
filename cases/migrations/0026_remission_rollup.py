"""The outcomes' remission from a rollup (cases/score_rollup.py, PostgreSQL only): a fact per case with DSM-5
checklists (plain SQL: arrays, no Django model), recounted by the census pass; the assessment triggers reinstalled
(an update of the responses marks the patient too) and every case's facts computed, in the migration's
transaction."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.census_rollup import RECOUNT_LOCK
        from cases.score_rollup import REMISSION_TABLE_SQL, install_score_triggers, rebuild_remission

        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOUNT_LOCK])  # no census pass meanwhile
            cursor.execute(REMISSION_TABLE_SQL)
        install_score_triggers()
        rebuild_remission()


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.score_rollup import DROP_REMISSION_TABLE_SQL

        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP_REMISSION_TABLE_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0025_score_rollup"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
