"""The outcomes' remission from a rollup (cases/score_rollup.py, PostgreSQL only): a fact per case with DSM-5
checklists (plain SQL: arrays, no Django model), recounted by the census pass; the assessment triggers reinstalled
(an update of the responses marks the patient too) and every case's facts computed, in the migration's
transaction. The SQL is frozen (cases/migrations/_frozen_rollups_0026.py), not read from the live modules."""

from django.db import migrations

from cases.migrations._frozen_rollups_0026 import (
    CENSUS_RECOUNT_LOCK,
    REMISSION_DROP_TABLE_SQL,
    REMISSION_TABLE_SQL,
    install_score_triggers,
    rebuild_remission,
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CENSUS_RECOUNT_LOCK])  # no census pass meanwhile
            cursor.execute(REMISSION_TABLE_SQL)
            install_score_triggers(cursor)
            rebuild_remission(cursor)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(REMISSION_DROP_TABLE_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0025_score_rollup"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
