"""Backups of the PostgreSQL database and the drill that proves one restores (docs/operations.md).

`backup(directory)` writes `clinic-<UTC time>.dump` (pg_dump's custom format: compressed, restored selectively with
pg_restore) and beside it `clinic-<UTC time>.json`, a manifest with every table's row count and the audit trail's
head (its newest event's id and newest seal), both taken in the very snapshot the dump was made from (pg_dump
`--snapshot`), so they describe exactly what the dump holds. The dump appears under its final name only once complete.

`restore_drill(backup)` restores a dump into a new scratch database, checks every table's row count against the
manifest and the audit chain with `manage.py verify_audit` run against the restored copy, then drops the scratch
database. A backup that has never been restored is a hope, not a backup.

Needs `pg_dump` and `pg_restore` on PATH (the image installs Debian's postgresql-client), at least as new as the
server.
"""

import datetime as dt
import json
import logging
import os
import subprocess  # nosec B404 - runs pg_dump, pg_restore and this project's own manage.py
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

logger = logging.getLogger("clinic.backups")

DUMP_SUFFIX = ".dump"
UNSEALED_AGE_IGNORED = 10**9  # seconds: about 32 years
MANIFEST_SUFFIX = ".json"


class BackupError(Exception):
    pass


def _connection_params() -> dict[str, Any]:
    if connection.vendor != "postgresql":
        raise BackupError("Backups and restore drills are for PostgreSQL (DATABASE_URL=postgres://...).")
    params = connection.get_connection_params()
    return {key: params[key] for key in ("host", "port", "user", "password", "dbname") if params.get(key)}


def _libpq_env(params: dict[str, Any]) -> dict[str, str]:
    """Connection settings for pg_dump and pg_restore as libpq variables (a password never on a command line)."""
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "password": "PGPASSWORD",  # nosec B105 - the name of libpq's variable, not a password
        "dbname": "PGDATABASE",
    }
    return {**os.environ, **{names[key]: str(value) for key, value in params.items()}}


def _count_rows(conn: psycopg.Connection) -> dict[str, int]:
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).fetchall()
    ]
    counts = {}
    for table in tables:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _audit_head(conn: psycopg.Connection) -> dict[str, Any]:
    """The newest audit event's id and, once the trail is sealed, the newest seal: what a restore must reach."""
    head: dict[str, Any] = {}
    row = conn.execute("SELECT max(id) FROM clinic_auditevent").fetchone()
    head["last_event_id"] = row[0] if row else None
    if conn.execute("SELECT to_regclass('clinic_auditseal')").fetchone()[0] is not None:  # type: ignore[index]
        seal = conn.execute(
            "SELECT sequence, hash FROM clinic_auditseal ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
        head["last_seal"] = {"sequence": seal[0], "hash": seal[1]} if seal else None
    return head


def backup(directory: Path) -> Path:
    """Dump the database into `directory`; returns the dump's path (the manifest sits beside it)."""
    params = _connection_params()
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = directory / f"clinic-{stamp}{DUMP_SUFFIX}"
    partial = final.with_suffix(".partial")
    with psycopg.connect(**params) as snapshot_conn:
        snapshot_conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        snapshot_conn.read_only = True
        snapshot = snapshot_conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        manifest = {
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "database": params.get("dbname"),
            "row_counts": _count_rows(snapshot_conn),
            "audit_head": _audit_head(snapshot_conn),
        }
        result = subprocess.run(  # nosec B603 B607 - fixed arguments, no shell
            ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"],
            env=_libpq_env(params),
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.rename(final)
    final.with_suffix(MANIFEST_SUFFIX).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    logger.info("backup written", extra={"file": final.name, "bytes": final.stat().st_size})
    return final


def latest_backup(directory: Path) -> Path:
    dumps = sorted(directory.glob(f"clinic-*{DUMP_SUFFIX}"))
    if not dumps:
        raise BackupError(f"No backup (clinic-*{DUMP_SUFFIX}) in {directory}.")
    return dumps[-1]


@dataclass
class DrillResult:
    backup: Path
    scratch_database: str
    tables: int = 0
    rows: int = 0
    mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    audit_report: str = ""
    audit_ok: bool = False
    anchor_report: str = ""
    anchor_ok: bool = True

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.audit_ok and self.anchor_ok


def restore_drill(dump: Path, *, keep: bool = False) -> DrillResult:
    """Restore `dump` into a new scratch database on the same server and verify it (see the module docstring)."""
    manifest_path = dump.with_suffix(MANIFEST_SUFFIX)
    if not manifest_path.exists():
        raise BackupError(
            f"{manifest_path.name} is missing: the drill has nothing to compare the restore with."
        )
    manifest = json.loads(manifest_path.read_text())
    params = _connection_params()
    scratch = f"{params.get('dbname', 'clinic')}_drill_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
    result = DrillResult(backup=dump, scratch_database=scratch)
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    try:
        restored = subprocess.run(  # nosec B603 B607 - fixed arguments, no shell
            [
                "pg_restore",
                "--exit-on-error",
                "--no-owner",
                "--no-privileges",
                f"--dbname={scratch}",
                str(dump),
            ],
            env=_libpq_env({**params, "dbname": scratch}),
            capture_output=True,
            text=True,
            check=False,
        )
        if restored.returncode != 0:
            raise BackupError(f"pg_restore failed: {restored.stderr.strip()}")
        with psycopg.connect(**{**params, "dbname": scratch}) as copy:
            counts = _count_rows(copy)
            if settings.AUDIT_ANCHOR_FILE and Path(settings.AUDIT_ANCHOR_FILE).exists():
                result.anchor_ok, result.anchor_report = _compare_with_anchor(
                    copy, Path(settings.AUDIT_ANCHOR_FILE)
                )
        expected: dict[str, int] = manifest["row_counts"]
        result.tables, result.rows = len(counts), sum(counts.values())
        for table in sorted(set(expected) | set(counts)):
            if expected.get(table, -1) != counts.get(table, -1):
                result.mismatches[table] = (expected.get(table, -1), counts.get(table, -1))
        verified = _verify_audit(scratch, params)
        result.audit_ok, result.audit_report = (
            verified.returncode == 0,
            (verified.stdout + verified.stderr).strip(),
        )
    finally:
        if not keep:
            with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch))
                )
    logger.info(
        "restore drill done",
        extra={"file": dump.name, "ok": result.ok, "tables": result.tables, "rows": result.rows},
    )
    return result


def _compare_with_anchor(copy: psycopg.Connection, anchor_file: Path) -> tuple[bool, str]:
    """The restored seals against the anchor file (kept outside the database): every seal the anchor names that the
    copy holds must have the anchored hash, and the copy must hold every anchored seal up to its own newest one.
    Anchored seals newer than the backup are expected to be missing from it."""
    anchored: dict[int, str] = {}
    for raw in anchor_file.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            entry = json.loads(raw)
            anchored[int(entry["seal"])] = str(entry["hash"])
    restored: dict[int, str] = dict(copy.execute("SELECT sequence, hash FROM clinic_auditseal").fetchall())
    newest = max(restored, default=0)
    for sequence, expected in sorted(anchored.items()):
        if sequence <= newest and restored.get(sequence) != expected:
            return False, f"seal #{sequence} differs from the anchor (or is missing from the restore)"
    later = sum(1 for sequence in anchored if sequence > newest)
    return True, f"{len(restored)} seals match the anchor; {later} anchored seals are newer than the backup"


def _verify_audit(database: str, params: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """This project's own `verify_audit`, in a fresh process whose DATABASE_URL is the restored copy."""
    auth = quote(str(params.get("user", "")), safe="")
    if params.get("password"):
        auth += ":" + quote(str(params["password"]), safe="")
    host = quote(str(params.get("host", "localhost")), safe="")
    url = f"postgres://{auth}@{host}:{params.get('port', 5432)}/{quote(database, safe='')}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE),
    }
    return subprocess.run(  # nosec B603 - this interpreter, this project's command
        # Every event and seal is checked; how long the copy's newest events have waited unsealed is not a question
        # about the backup (they were unsealed when it was taken, and they age while it is kept).
        [sys.executable, "-m", "django", "verify_audit", "--interval", str(UNSEALED_AGE_IGNORED)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=settings.BASE_DIR,
    )
