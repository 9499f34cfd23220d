"""The retention report joins the census rollup (cases/census_rollup.py): `cohort` facts (each case on its opening
day: opened, still open, kept to day 30, 90 and 180) and `stayed` facts (a closed case's length of stay); every
patient counted again, in the migration's transaction."""

from django.db import migrations


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from cases.census_rollup import rebuild_census

        rebuild_census()


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0026_remission_rollup"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
