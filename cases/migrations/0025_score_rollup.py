"""The outcomes' first and latest scores from a rollup (cases/score_rollup.py, PostgreSQL only): its two tables
(plain SQL: arrays and a GiST index, no Django models), triggers on assessments marking their patients for the
census pass, and every patient counted again (census and scores), in the migration's transaction. The SQL is
frozen (cases/migrations/_frozen_rollups_0026.py), not read from the live modules."""

from django.conf import settings
from django.db import migrations

from cases.migrations._frozen_rollups_0026 import (
    SCORE_DROP_TABLES_SQL,
    SCORE_DROP_TRIGGERS_SQL,
    SCORE_TABLES_SQL,
    rebuild_census,
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(SCORE_TABLES_SQL)
            rebuild_census(cursor, settings.TIME_ZONE)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(SCORE_DROP_TRIGGERS_SQL)
            cursor.execute(SCORE_DROP_TABLES_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0024_outcomes_rollup"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
