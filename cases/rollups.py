"""The visits report's rollup (PostgreSQL): visits counted per clinic day, visit type, clinician and status in
`cases_visitcount` (`VisitCount`), kept current by the database itself, so that the report sums a few thousand
rows instead of counting millions of visits. docs/reports.md ("Rollups") explains the design.

- **Kept by triggers, in the writing transaction.** Statement-level triggers on `cases_visit` (insert, update,
  delete; with transition tables) append one *change* row per (day, visit type, clinician, status) a statement
  touched: +n for visits that entered the cell, -n for those that left it (an update that moves no visit between
  cells appends nothing). Every write to a visit (the visit service's scheduling, attendance, reschedule and
  correction paths, the admin, a bulk load, a data fix) is counted by the same rule, in the same transaction:
  the change commits or rolls back with the visit. Requests only *insert* change rows: no row is updated by two
  requests, so the rollup has no hot row, takes no lock another writer waits on, and adds nothing to the lock
  order (docs/audit.md).
- **Settled by a pass.** `settle_visit_counts()` (the scheduler, every SCHEDULE_SETTLE_VISIT_COUNTS_SECONDS;
  `manage.py rollup_visits`) folds the committed change rows into one *settled* row per cell (`DELETE ...
  RETURNING` feeding `INSERT ... ON CONFLICT DO UPDATE`, in one statement), so the table stays small. Only the
  pass writes settled rows, one pass at a time (a try-lock: a second pass skips).
- **Never stale.** The report sums settled and change rows alike, in one statement (one snapshot): a pass moving
  rows from one kind to the other commits atomically, so the sum is the same before, during and after it; the
  pass only keeps the sum cheap.
- **Scope.** The rollup counts every visit; the report subtracts the visits of the few patients entered in error
  (read from the visits of those few patients). A day's cells, not a month's: any range of days is a sum of
  whole cells, with no partial month at either end to count from the visits.

SQLite (development and the test suite's default) has no rollup: the report counts the visits themselves there.
"""

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "cases_visitcount"
# pg_try_advisory_xact_lock key of the settling pass (any constant not used elsewhere: "visitcnt" in ASCII).
SETTLE_LOCK = 0x7669736974636E74

# `cases_clinic_day(at)`: the clinic-time date of a moment, the time zone (settings.TIME_ZONE,
# a parameter) written into the function's body by PostgreSQL's own quoting. IMMUTABLE with its zone fixed, so
# the planner inlines it.
CLINIC_ZONE_SQL = "SELECT set_config('cases.clinic_zone', %s, true)"
MONTH_FUNCTION_SQL = """
DO $$
BEGIN
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION cases_clinic_day(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS %L',
        format('SELECT (at AT TIME ZONE %L)::date', current_setting('cases.clinic_zone'))
    );
END;
$$;
"""

TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION cases_visit_count_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_visitcount (day, visit_type, clinician_id, status, visits, settled)
    SELECT cases_clinic_day(scheduled_at), visit_type, clinician_id, status, count(*), false
    FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_visit_count_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_visitcount (day, visit_type, clinician_id, status, visits, settled)
    SELECT day, visit_type, clinician_id, status, sum(n), false
    FROM (
        SELECT cases_clinic_day(scheduled_at) AS day, visit_type, clinician_id, status, -1 AS n FROM old_rows
        UNION ALL
        SELECT cases_clinic_day(scheduled_at), visit_type, clinician_id, status, 1 FROM new_rows
    ) moved
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_visit_count_deleted() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_visitcount (day, visit_type, clinician_id, status, visits, settled)
    SELECT cases_clinic_day(scheduled_at), visit_type, clinician_id, status, -count(*), false
    FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_visit_count_truncated() RETURNS trigger AS $$
BEGIN
    DELETE FROM cases_visitcount;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cases_visit_count_insert ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_update ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_delete ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_truncate ON cases_visit;
CREATE TRIGGER cases_visit_count_insert AFTER INSERT ON cases_visit REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_visit_count_inserted();
CREATE TRIGGER cases_visit_count_update AFTER UPDATE ON cases_visit
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_visit_count_updated();
CREATE TRIGGER cases_visit_count_delete AFTER DELETE ON cases_visit REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_visit_count_deleted();
CREATE TRIGGER cases_visit_count_truncate AFTER TRUNCATE ON cases_visit
    FOR EACH STATEMENT EXECUTE FUNCTION cases_visit_count_truncated();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS cases_visit_count_insert ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_update ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_delete ON cases_visit;
DROP TRIGGER IF EXISTS cases_visit_count_truncate ON cases_visit;
DROP FUNCTION IF EXISTS cases_visit_count_inserted();
DROP FUNCTION IF EXISTS cases_visit_count_updated();
DROP FUNCTION IF EXISTS cases_visit_count_deleted();
DROP FUNCTION IF EXISTS cases_visit_count_truncated();
DROP FUNCTION IF EXISTS cases_clinic_day(timestamptz);
"""

# The visits as they are now, one settled row per cell.
COUNT_ALL_SQL = """
INSERT INTO cases_visitcount (day, visit_type, clinician_id, status, visits, settled)
SELECT cases_clinic_day(scheduled_at), visit_type, clinician_id, status, count(*), true
FROM cases_visit GROUP BY 1, 2, 3, 4
"""

SETTLE_SQL = """
WITH changes AS (
    DELETE FROM cases_visitcount WHERE NOT settled RETURNING day, visit_type, clinician_id, status, visits
)
INSERT INTO cases_visitcount AS counted (day, visit_type, clinician_id, status, visits, settled)
SELECT day, visit_type, clinician_id, status, sum(visits), true FROM changes GROUP BY 1, 2, 3, 4
ON CONFLICT (day, visit_type, clinician_id, status) WHERE settled
DO UPDATE SET visits = counted.visits + EXCLUDED.visits
"""

# Cells where the rollup and the visits disagree (none: the rollup is right).
CHECK_SQL = """
SELECT day, visit_type, clinician_id, status, coalesce(r.n, 0), coalesce(v.n, 0)
FROM (
    SELECT day, visit_type, clinician_id, status, sum(visits) AS n FROM cases_visitcount GROUP BY 1, 2, 3, 4
) r
FULL JOIN (
    SELECT cases_clinic_day(scheduled_at) AS day, visit_type, clinician_id, status, count(*) AS n
    FROM cases_visit GROUP BY 1, 2, 3, 4
) v USING (day, visit_type, clinician_id, status)
WHERE coalesce(r.n, 0) <> coalesce(v.n, 0)
ORDER BY 1, 2, 3, 4
"""


def has_rollups(db: BaseDatabaseWrapper | None = None) -> bool:
    return (db or connection).vendor == "postgresql"


def install_triggers(db: BaseDatabaseWrapper) -> None:
    """(Re)create the day function and the triggers (idempotent), in the caller's transaction."""
    with db.cursor() as cursor:
        cursor.execute(CLINIC_ZONE_SQL, [settings.TIME_ZONE])
        cursor.execute(MONTH_FUNCTION_SQL)
        cursor.execute(TRIGGERS_SQL)


def rebuild_visit_counts() -> int:
    """Reinstall the triggers and recount every visit into settled rows, with visit writes held off meanwhile
    (the backfill of an existing database, or a repair). Returns the number of cells."""
    if not has_rollups():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SETTLE_LOCK])  # no settling pass meanwhile
        cursor.execute(
            "LOCK TABLE cases_visit IN SHARE MODE"
        )  # waits for writes in flight; holds off new ones
        install_triggers(connection)
        cursor.execute("DELETE FROM cases_visitcount")
        cursor.execute(COUNT_ALL_SQL)
        return int(cursor.rowcount)


def settle_visit_counts() -> int | None:
    """Fold the committed change rows into the settled ones; returns how many cells were written, None when
    another pass holds the lock (it does the same work)."""
    if not has_rollups():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SETTLE_LOCK])
        (locked,) = cursor.fetchone()
        if not locked:
            return None
        cursor.execute(SETTLE_SQL)
        written = int(cursor.rowcount)
        cursor.execute("DELETE FROM cases_visitcount WHERE settled AND visits = 0")
        return written


def visit_count_differences() -> list[tuple[object, ...]]:
    """(day, visit type, clinician, status, rollup, visits) of every cell where the two disagree."""
    if not has_rollups():
        return []
    with connection.cursor() as cursor:
        cursor.execute(CHECK_SQL)
        return list(cursor.fetchall())
