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
    """After an operation that rebuilt the table on SQLite (PostgreSQL keeps its triggers through ALTER TABLE).
    Puts back the seals' table's triggers too, once that table exists (migration 0006)."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN + SQLITE_UP:
            schema_editor.execute(statement)
        if SEAL_TABLE in schema_editor.connection.introspection.table_names():
            for statement in SEAL_SQLITE_DOWN + SEAL_SQLITE_UP:
                schema_editor.execute(statement)


# --- Version 2: the seals' table is append-only too, and TRUNCATE is refused on both tables (PostgreSQL; SQLite
# has no TRUNCATE). TRUNCATE of an empty table is let through: it loses nothing, and the test suite's flush
# truncates every table after emptying these two with their triggers lifted.
SEAL_TABLE = "clinic_auditseal"

# A plain literal (the names spelled out), not an f-string: bandit's B608 reads formatted SQL as injectable.
POSTGRES_V2_UP = """
CREATE OR REPLACE FUNCTION clinic_audit_refuse_truncate() RETURNS trigger AS $$
DECLARE
    has_rows boolean;
BEGIN
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM ' || quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME) || ')'
        INTO has_rows;
    IF has_rows THEN
        RAISE EXCEPTION 'audit tables cannot be truncated' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clinic_audit_no_truncate BEFORE TRUNCATE ON clinic_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_audit_refuse_truncate();
CREATE TRIGGER clinic_auditseal_no_update BEFORE UPDATE ON clinic_auditseal
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_refuse_change();
CREATE TRIGGER clinic_auditseal_no_delete BEFORE DELETE ON clinic_auditseal
    FOR EACH ROW EXECUTE FUNCTION clinic_audit_refuse_change();
CREATE TRIGGER clinic_auditseal_no_truncate BEFORE TRUNCATE ON clinic_auditseal
    FOR EACH STATEMENT EXECUTE FUNCTION clinic_audit_refuse_truncate();
"""
POSTGRES_V2_DOWN = f"""
DROP TRIGGER IF EXISTS clinic_audit_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS clinic_auditseal_no_update ON {SEAL_TABLE};
DROP TRIGGER IF EXISTS clinic_auditseal_no_delete ON {SEAL_TABLE};
DROP TRIGGER IF EXISTS clinic_auditseal_no_truncate ON {SEAL_TABLE};
DROP FUNCTION IF EXISTS clinic_audit_refuse_truncate();
"""
SEAL_SQLITE_UP = [
    f"CREATE TRIGGER clinic_auditseal_no_update BEFORE UPDATE ON {SEAL_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
    f"CREATE TRIGGER clinic_auditseal_no_delete BEFORE DELETE ON {SEAL_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;",
]
SEAL_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS clinic_auditseal_no_update;",
    "DROP TRIGGER IF EXISTS clinic_auditseal_no_delete;",
]


def install_v2(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_V2_UP)
    elif vendor == "sqlite":
        for statement in SEAL_SQLITE_UP:
            schema_editor.execute(statement)
    else:  # pragma: no cover
        raise RuntimeError(f"No append-only triggers for {vendor}")


def remove_v2(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_V2_DOWN)
    elif vendor == "sqlite":
        for statement in SEAL_SQLITE_DOWN:
            schema_editor.execute(statement)
