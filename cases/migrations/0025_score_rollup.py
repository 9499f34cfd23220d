"""The outcomes' first and latest scores from a rollup (cases/score_rollup.py, PostgreSQL only): its two tables
(plain SQL: arrays and a GiST index, no Django models), triggers on assessments marking their patients for the
census pass, and every patient counted again (census and scores), in the migration's transaction."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.census_rollup import rebuild_census
        from cases.score_rollup import TABLES_SQL

        with schema_editor.connection.cursor() as cursor:
            cursor.execute(TABLES_SQL)
        rebuild_census()


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.score_rollup import DROP_TABLES_SQL, DROP_TRIGGERS_SQL

        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP_TRIGGERS_SQL)
            cursor.execute(DROP_TABLES_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0024_outcomes_rollup"),
    ]

    operations = [
        migrations.RunPython(install, remove),
    ]
