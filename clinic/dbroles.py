"""The app's own PostgreSQL login, with the least privilege it needs: read and write the clinic's rows, append to
the audit trail, and nothing else.

Two roles (docs/operations.md, deploy/postgres/initdb/10-roles.sh creates both on a new server):
- the owner (`clinic_owner` in compose) owns the database, its schema and every table; only the one-shot
  `migrate` service logs in as it;
- the app role (`clinic_app`; DATABASE_APP_ROLE) is what gunicorn and the scheduler log in as. After every
  `migrate`, `grant_app_role` (a post_migrate receiver, run as the owner) gives it exactly:
  - SELECT, INSERT, UPDATE, DELETE on the tables (no TRUNCATE, REFERENCES or TRIGGER anywhere);
  - SELECT and INSERT only on the audit tables (every table whose name starts with `clinic_audit`: the events
    and the seals), so its login cannot rewrite or empty the history even before the triggers refuse it;
  - SELECT only on `django_migrations` (readiness reads it; only the owner migrates);
  - USAGE on the schema, never CREATE; it owns nothing, so it can neither ALTER nor DROP a table nor disable a
    trigger (PostgreSQL lets only a table's owner or a superuser do those).

A role may not be a superuser, own objects, or be a member of the owner: `check_app_role` says which of these is
wrong, and the migration run refuses to grant to such a role.
"""

import logging
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

logger = logging.getLogger("clinic.dbroles")

AUDIT_TABLE_PREFIX = "clinic_audit"
READ_ONLY_TABLES = ("django_migrations",)
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_PRIVILEGES = "SELECT, INSERT"


class UnsafeAppRole(Exception):
    """The configured app role could rewrite history or the schema; granting to it is refused."""


def _tables(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
    )
    return [name for (name,) in cursor.fetchall()]


def check_app_role(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """What makes `role` unfit to be the app's login (empty when it is fit)."""
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        if row is None:
            return [f"role {role} does not exist"]
        for flag, name in zip(row, ("SUPERUSER", "CREATEROLE", "CREATEDB", "BYPASSRLS"), strict=True):
            if flag:
                problems.append(f"role {role} has {name}")
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = %s AND c.relnamespace = current_schema()::regnamespace",
            [role],
        )
        if cursor.fetchone()[0]:
            problems.append(f"role {role} owns tables")
        cursor.execute("SELECT pg_has_role(%s, current_user, 'MEMBER')", [role])
        if cursor.fetchone()[0]:
            problems.append(f"role {role} is a member of the owner {connection.settings_dict['USER'] or ''}")
    return problems


def grant_app_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give `role` the app's privileges on every table (run as the owner, after migrating)."""
    if problems := check_app_role(connection, role):
        raise UnsafeAppRole("; ".join(problems))
    ident = sql.Identifier(role)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT current_schema()"))
        schema = sql.Identifier(cursor.fetchone()[0])
        statements = [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), ident
            ),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, ident),
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(schema, ident),
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, ident),
        ]
        for table in _tables(cursor):
            target = sql.Identifier(table)
            if table.startswith(AUDIT_TABLE_PREFIX):
                granted = AUDIT_PRIVILEGES
            elif table in READ_ONLY_TABLES:
                granted = "SELECT"
            else:
                granted = TABLE_PRIVILEGES
            statements.append(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(target, ident))
            statements.append(sql.SQL(f"GRANT {granted} ON TABLE {{}} TO {{}}").format(target, ident))
        for statement in statements:
            cursor.execute(statement)
    logger.info("granted the app role its privileges", extra={"role": role})


def grant_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: when DATABASE_APP_ROLE names the app's login, (re)grant it on PostgreSQL."""
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    connection = connections[using]
    if not role or connection.vendor != "postgresql" or sender.label != "clinic":
        return
    grant_app_role(connection, role)
