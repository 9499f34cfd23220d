"""The outcomes' stays and screens in recovery join the census rollup (cases/census_rollup.py): triggers on urine
screens mark their patients too, and every patient is counted again with the new facts. The SQL is frozen
(cases/migrations/_frozen_rollups_0026.py), not read from the live module."""

from django.conf import settings
from django.db import migrations

from cases.migrations._frozen_rollups_0026 import rebuild_census


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            rebuild_census(cursor, settings.TIME_ZONE)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0023_census_rollup"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
