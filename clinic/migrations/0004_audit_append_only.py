"""Make the audit table append-only in the database itself: UPDATE and DELETE fail, on PostgreSQL and SQLite."""

from django.db import migrations

from clinic.migrations._append_only import install, remove


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_audit_event")]

    operations = [migrations.RunPython(install, remove)]
