"""The outcomes' stays and screens in recovery join the census rollup (cases/census_rollup.py): triggers on urine
screens mark their patients too, and every patient is counted again with the new facts."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.census_rollup import rebuild_census

        rebuild_census()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0023_census_rollup"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
