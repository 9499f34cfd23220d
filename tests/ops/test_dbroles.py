"""The app's PostgreSQL login: it reads and writes the clinic's rows and appends to the audit trail, but cannot
update, delete or truncate the audit tables, disable their triggers, or change the schema."""

import uuid

import psycopg
import pytest
from django.db import connection

from clinic.dbroles import UnsafeAppRole, check_app_role, grant_app_role

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_role(transactional_db):
    """A fresh login role (roles belong to the whole server: a random name, dropped afterwards)."""
    role = f"ops_test_app_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    yield role
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def as_app(app_role):
    """Run one statement as the app role on the test database; returns None or the error PostgreSQL raised."""
    grant_app_role(connection, app_role)
    params = connection.get_connection_params()
    params = {key: value for key, value in params.items() if key in ("host", "port", "dbname")}
    with psycopg.connect(**params, user=app_role, autocommit=True) as app:

        def run(statement: str) -> psycopg.Error | None:
            try:
                app.execute(statement)
            except psycopg.Error as exc:
                return exc
            return None

        yield run


def test_the_app_role_reads_and_writes_clinic_rows_and_appends_to_the_audit_trail(as_app):
    assert as_app("SELECT count(*) FROM cases_patient") is None
    assert as_app("UPDATE cases_patient SET preferred_name = preferred_name WHERE false") is None
    assert as_app("DELETE FROM django_session WHERE false") is None
    assert as_app("SELECT count(*) FROM clinic_auditevent") is None
    # INSERT is granted: a statement that inserts nothing proves the privilege without a broken chain.
    assert as_app("INSERT INTO clinic_auditevent SELECT * FROM clinic_auditevent WHERE false") is None
    assert as_app("SELECT count(*) FROM django_migrations") is None


HISTORY_REWRITES = [
    "UPDATE clinic_auditevent SET action = 'view' WHERE false",
    "DELETE FROM clinic_auditevent WHERE false",
    "TRUNCATE clinic_auditevent",
    "ALTER TABLE clinic_auditevent DISABLE TRIGGER ALL",
    "ALTER TABLE clinic_auditevent DISABLE TRIGGER clinic_audit_no_update",
    "DROP TRIGGER clinic_audit_no_delete ON clinic_auditevent",
    "DROP TABLE clinic_auditevent",
]
SCHEMA_CHANGES = [
    "TRUNCATE cases_patient",
    "CREATE TABLE ops_probe (id int)",
    "ALTER TABLE cases_patient ADD COLUMN ops_probe int",
    "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
    "CREATE ROLE ops_probe_role",
]


def test_the_app_role_cannot_rewrite_the_audit_trail_change_the_schema_or_truncate(as_app):
    # One test for all the statements: each needs a committed grant, so a test costs a database flush.
    refused = {statement: type(as_app(statement)).__name__ for statement in HISTORY_REWRITES + SCHEMA_CHANGES}

    assert refused == dict.fromkeys(HISTORY_REWRITES + SCHEMA_CHANGES, "InsufficientPrivilege")


@pytest.mark.django_db
def test_granting_to_a_superuser_is_refused():
    with pytest.raises(UnsafeAppRole, match="SUPERUSER"):
        grant_app_role(connection, "postgres")


@pytest.mark.django_db
def test_a_missing_role_is_named():
    assert check_app_role(connection, "ops_no_such_role") == ["role ops_no_such_role does not exist"]
