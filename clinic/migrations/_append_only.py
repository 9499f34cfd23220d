"""The audit table's append-only triggers, shared by the migrations that install them and those that must put them
back: on SQLite, altering a column or a constraint rebuilds the table, and the rebuild drops its triggers. (A module
whose name starts with an underscore is not a migration to Django's loader.)"""

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


def reinstall_on_sqlite(apps, schema_editor):
    """After an operation that rebuilt the table on SQLite (PostgreSQL keeps its triggers through ALTER TABLE)."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN + SQLITE_UP:
            schema_editor.execute(statement)
