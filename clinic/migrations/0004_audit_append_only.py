"""Make the audit table append-only in the database itself: UPDATE and DELETE fail, on PostgreSQL and SQLite."""

from django.db import migrations

TABLE = "clinic_auditevent"
MESSAGE = "audit events are append-only"

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION clinic_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinic_audit_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_refuse_change();
CREATE TRIGGER clinic_audit_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_refuse_change();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS clinic_audit_no_update ON {TABLE};
DROP TRIGGER IF EXISTS clinic_audit_no_delete ON {TABLE};
DROP FUNCTION IF EXISTS clinic_audit_refuse_change();
"""
SQLITE_UP = [
    f"CREATE TRIGGER clinic_audit_no_update BEFORE UPDATE ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER clinic_audit_no_delete BEFORE DELETE ON {TABLE} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS clinic_audit_no_update;", "DROP TRIGGER IF EXISTS clinic_audit_no_delete;"]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)
    else:  # pragma: no cover - the product runs on PostgreSQL and SQLite only
        raise RuntimeError(f"No append-only triggers for {vendor}")


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_audit_event")]

    operations = [migrations.RunPython(install, remove)]
