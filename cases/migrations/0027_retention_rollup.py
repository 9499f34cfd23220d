"""The retention report joins the census rollup (cases/census_rollup.py): `cohort` facts (each case on its opening
day: opened, still open, kept to day 30, 90 and 180) and `stayed` facts (a closed case's length of stay); every
patient counted again, in the migration's transaction. The SQL is frozen (cases/migrations/_frozen_rollups_0027.py),
not read from the live modules."""

from django.conf import settings
from django.db import migrations

from cases.migrations._frozen_rollups_0027 import rebuild_census


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            rebuild_census(cursor, settings.TIME_ZONE)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0026_remission_rollup"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
