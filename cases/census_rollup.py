"""The census report's rollup (PostgreSQL): what every patient's cases add to the census, summed per clinic day,
so that the report sums a few thousand rows instead of windowing over every case. docs/reports.md ("The census
rollup") explains the design.

- **Facts per patient.** A patient's cases give *facts* (`CensusFact`): `opened` (a case opened that day),
  `first` (the patient's first case opened that day: admissions less firsts are readmissions), `closed` (a case
  closed that day, `key` its reason) and `stage` (+1 on the day a case starts counting in a stage at the end of
  the day, -1 on the day it stops: open cases by stage at the end of day E are the sum of these up to E). Each
  carries the case's current primary clinician (the report's clinician filter). Patients entered in error have
  none. `CensusCount` is every patient's facts summed per (kind, day, key, clinician).
- **Marked by the writes.** Statement-level triggers on cases, stage changes and patients (entered in error)
  insert the patients they touched into `ReportDirty`, in the writing transaction: insert only, no row shared
  between requests, no lock another writer waits on (like the visits rollup; nothing added to the lock order).
- **Recounted by a pass.** `recount_census()` (the scheduler's `rollup_visits` job, every minute) replaces the
  facts of the marked patients and applies the difference to `CensusCount`, removing the marks it read: one
  statement, so marks, facts and counts change together. One pass at a time (an advisory lock).
- **Never stale.** The report (`CENSUS_FROM_ROLLUP`), in one statement and so one snapshot, sums the counts, takes
  out the stored facts of the patients still marked and adds their facts computed from the cases as they are.
  A change and its mark commit together and a pass removes a mark together with the facts it recounted, so in any
  snapshot a patient without a mark has facts that match their cases: the answer is what counting every case
  would give, before, during and after a pass. The pass only keeps the live part small.

SQLite (development and the test suite's default) has no rollup: the report counts the cases there.
"""

import datetime as dt
import uuid

from django.db import connection, transaction

from cases.rollups import has_rollups, install_triggers
from cases.score_rollup import (
    rebuild_remission,
    rebuild_scores,
    recount_ctes,
    remission_installed,
    remission_recount_ctes,
    scores_installed,
)
from clinic.models import User

# pg_advisory_xact_lock key of the recounting pass ("censuscn" in ASCII).
RECOUNT_LOCK = 0x63656E737573636E
NO_CLINICIAN = "00000000-0000-0000-0000-000000000000"  # a case without a primary clinician

# The facts of the patients `{patients}` (a query of patient ids) from their cases and stage changes as they are.
# A case's stage at the end of day E is the target of its latest stage change dated (clinic date) on or before E,
# intake before the first (the report's rule, `stage_at`); the history's sequence follows effective time, so the
# day's last change by sequence gives the stage at the day's end. A case counts in that stage from the day it
# opened until the day it closed (it is no longer open at the end of its closing day).
FACTS_SQL = """
WITH patient_cases AS (
    SELECT c.id, c.patient_id, c.opened_on, c.closed_on, coalesce(c.discharge_reason, '') AS reason,
           coalesce(c.primary_clinician_id, '{none}'::uuid) AS clinician_id,
           row_number() OVER (PARTITION BY c.patient_id ORDER BY c.opened_on, c.created_at, c.id) AS episode
    FROM cases_case c JOIN cases_patient p ON p.id = c.patient_id
    WHERE c.patient_id IN ({patients}) AND NOT p.entered_in_error
),
stage_days AS (
    SELECT DISTINCT ON (t.case_id, day) t.case_id, cases_clinic_day(t.effective_at) AS day, t.to_stage AS stage
    FROM cases_stagetransition t
    WHERE t.case_id IN (SELECT id FROM patient_cases)
    ORDER BY t.case_id, day, t.sequence DESC
),
first_days AS (SELECT case_id, min(day) AS day FROM stage_days GROUP BY case_id),
segments AS (
    SELECT case_id, day AS since, lead(day) OVER (PARTITION BY case_id ORDER BY day) AS until, stage
    FROM stage_days
    UNION ALL
    SELECT pc.id, NULL, f.day, 'intake' FROM patient_cases pc LEFT JOIN first_days f ON f.case_id = pc.id
),
counted AS (  -- each segment cut to the days the case is open at their end (greatest/least skip nulls)
    SELECT pc.patient_id, pc.clinician_id, s.stage,
           greatest(s.since, pc.opened_on) AS since, least(s.until, pc.closed_on) AS until
    FROM segments s JOIN patient_cases pc ON pc.id = s.case_id
),
history AS (  -- each stage change with the clinic date of the one before it (the stay it ends began then)
    SELECT t.case_id, t.sequence, t.from_stage, t.to_stage, cases_clinic_day(t.effective_at) AS day,
           lag(cases_clinic_day(t.effective_at)) OVER (PARTITION BY t.case_id ORDER BY t.sequence) AS entered
    FROM cases_stagetransition t
    WHERE t.case_id IN (SELECT id FROM patient_cases)
),
recovery_screens AS (  -- urine screens testing a kratom analyte, collected on a day of a stay in recovery
    SELECT h.case_id, d.collected_on,
           CASE WHEN d.mitragynine <> 'positive' AND d.seven_oh_mitragynine <> 'positive'
                THEN 'negative' ELSE 'other' END AS result
    FROM history h
    LEFT JOIN history next_change ON next_change.case_id = h.case_id AND next_change.sequence = h.sequence + 1
    JOIN cases_drugscreen d ON d.case_id = h.case_id AND d.collected_on >= h.day
                           AND d.collected_on < coalesce(next_change.day, '9999-12-31'::date)
    WHERE h.to_stage = 'recovery'
      AND (d.mitragynine IN ('positive', 'negative') OR d.seven_oh_mitragynine IN ('positive', 'negative'))
)
SELECT patient_id, 'stage' AS kind, since AS day, stage AS key, clinician_id, 1 AS n
FROM counted WHERE until IS NULL OR since < until
UNION ALL
SELECT patient_id, 'stage', until, stage, clinician_id, -1 FROM counted WHERE since < until
UNION ALL
SELECT patient_id, 'opened', opened_on, '', clinician_id, 1 FROM patient_cases
UNION ALL
SELECT patient_id, 'first', opened_on, '', clinician_id, 1 FROM patient_cases WHERE episode = 1
UNION ALL
SELECT patient_id, 'closed', closed_on, reason, clinician_id, 1 FROM patient_cases WHERE closed_on IS NOT NULL
UNION ALL
SELECT pc.patient_id, 'stay', h.day, h.from_stage || ':' || (h.day - h.entered), pc.clinician_id, 1
FROM history h JOIN patient_cases pc ON pc.id = h.case_id
WHERE h.from_stage IN ('intake', 'assessment', 'treatment', 'recovery') AND h.entered IS NOT NULL
UNION ALL
SELECT pc.patient_id, 'screen', r.collected_on, r.result, pc.clinician_id, 1
FROM recovery_screens r JOIN patient_cases pc ON pc.id = r.case_id
UNION ALL  -- retention: each case on its opening day, with what it counts for (still open; kept to day N)
SELECT pc.patient_id, 'cohort', pc.opened_on, k.key, pc.clinician_id, 1
FROM patient_cases pc
CROSS JOIN LATERAL (VALUES
    ('all', true),
    ('open', pc.closed_on IS NULL),
    ('kept30', pc.closed_on IS NULL OR pc.closed_on - pc.opened_on >= 30),
    ('kept90', pc.closed_on IS NULL OR pc.closed_on - pc.opened_on >= 90),
    ('kept180', pc.closed_on IS NULL OR pc.closed_on - pc.opened_on >= 180)
) AS k (key, counted)
WHERE k.counted
UNION ALL  -- and the length of its stay once closed (the median)
SELECT pc.patient_id, 'stayed', pc.opened_on, (pc.closed_on - pc.opened_on)::text, pc.clinician_id, 1
FROM patient_cases pc WHERE pc.closed_on IS NOT NULL
"""


def facts_sql(patients: str) -> str:
    return FACTS_SQL.format(patients=patients, none=NO_CLINICIAN)


TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION cases_census_case_written() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id) SELECT DISTINCT patient_id FROM written_rows;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_census_case_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id)
    SELECT DISTINCT x.patient_id
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    CROSS JOIN LATERAL (VALUES (o.patient_id), (n.patient_id)) AS x (patient_id)
    WHERE (o.patient_id, o.opened_on, o.closed_on, o.discharge_reason, o.primary_clinician_id, o.created_at)
          IS DISTINCT FROM
          (n.patient_id, n.opened_on, n.closed_on, n.discharge_reason, n.primary_clinician_id, n.created_at);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_census_stage_written() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id)
    SELECT DISTINCT c.patient_id FROM written_rows t JOIN cases_case c ON c.id = t.case_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_census_stage_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id)
    SELECT DISTINCT c.patient_id
    FROM (SELECT case_id FROM old_rows UNION SELECT case_id FROM new_rows) t
    JOIN cases_case c ON c.id = t.case_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_census_patient_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id)
    SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.entered_in_error IS DISTINCT FROM n.entered_in_error;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_census_truncated() RETURNS trigger AS $$
BEGIN
    DELETE FROM cases_reportdirty;
    DELETE FROM cases_censusfact;
    DELETE FROM cases_censuscount;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cases_census_case_insert ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_update ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_delete ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_truncate ON cases_case;
DROP TRIGGER IF EXISTS cases_census_stage_insert ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_stage_update ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_stage_delete ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_patient_update ON cases_patient;
DROP TRIGGER IF EXISTS cases_census_screen_insert ON cases_drugscreen;
DROP TRIGGER IF EXISTS cases_census_screen_update ON cases_drugscreen;
DROP TRIGGER IF EXISTS cases_census_screen_delete ON cases_drugscreen;
CREATE TRIGGER cases_census_screen_insert AFTER INSERT ON cases_drugscreen REFERENCING NEW TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_census_screen_update AFTER UPDATE ON cases_drugscreen
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_updated();
CREATE TRIGGER cases_census_screen_delete AFTER DELETE ON cases_drugscreen REFERENCING OLD TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_census_case_insert AFTER INSERT ON cases_case REFERENCING NEW TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_case_written();
CREATE TRIGGER cases_census_case_update AFTER UPDATE ON cases_case
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_case_updated();
CREATE TRIGGER cases_census_case_delete AFTER DELETE ON cases_case REFERENCING OLD TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_case_written();
CREATE TRIGGER cases_census_case_truncate AFTER TRUNCATE ON cases_case
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_truncated();
CREATE TRIGGER cases_census_stage_insert AFTER INSERT ON cases_stagetransition
    REFERENCING NEW TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_census_stage_update AFTER UPDATE ON cases_stagetransition
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_updated();
CREATE TRIGGER cases_census_stage_delete AFTER DELETE ON cases_stagetransition
    REFERENCING OLD TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_census_patient_update AFTER UPDATE ON cases_patient
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_patient_updated();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS cases_census_case_insert ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_update ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_delete ON cases_case;
DROP TRIGGER IF EXISTS cases_census_case_truncate ON cases_case;
DROP TRIGGER IF EXISTS cases_census_stage_insert ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_stage_update ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_stage_delete ON cases_stagetransition;
DROP TRIGGER IF EXISTS cases_census_patient_update ON cases_patient;
DROP TRIGGER IF EXISTS cases_census_screen_insert ON cases_drugscreen;
DROP TRIGGER IF EXISTS cases_census_screen_update ON cases_drugscreen;
DROP TRIGGER IF EXISTS cases_census_screen_delete ON cases_drugscreen;
DROP FUNCTION IF EXISTS cases_census_case_written();
DROP FUNCTION IF EXISTS cases_census_case_updated();
DROP FUNCTION IF EXISTS cases_census_stage_written();
DROP FUNCTION IF EXISTS cases_census_stage_updated();
DROP FUNCTION IF EXISTS cases_census_patient_updated();
DROP FUNCTION IF EXISTS cases_census_truncated();
"""

# The pass, one statement: the marks it sees, those patients' old facts out and new facts in, the difference
# added to the counts. Every part reads the same snapshot; marks written by transactions not yet committed stay
# for the next pass.
RECOUNT_SQL = """
WITH marks AS (DELETE FROM cases_reportdirty RETURNING patient_id),{scores}
old_facts AS (
    DELETE FROM cases_censusfact WHERE patient_id IN (SELECT patient_id FROM marks)
    RETURNING kind, day, key, clinician_id, -n AS n
),
new_facts AS (
    INSERT INTO cases_censusfact (patient_id, kind, day, key, clinician_id, n)
    SELECT * FROM ({facts}) f
    RETURNING kind, day, key, clinician_id, n
)
INSERT INTO cases_censuscount AS counted (kind, day, key, clinician_id, n)
SELECT kind, day, key, clinician_id, sum(n)
FROM (SELECT * FROM old_facts UNION ALL SELECT * FROM new_facts) changed
GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
ON CONFLICT (kind, day, key, clinician_id) DO UPDATE SET n = counted.n + EXCLUDED.n
"""

# The census's figures for clinic dates `start` to `end` (and a clinician, or null), in one statement: the
# counts, less the stored facts of the patients still marked, plus their facts as their cases are now.
ROLLUP_CELLS = """
WITH dirty AS (SELECT DISTINCT patient_id FROM cases_reportdirty),
live AS ({facts}),
cells AS (
    SELECT kind, day, key, clinician_id, n FROM cases_censuscount
    UNION ALL
    SELECT kind, day, key, clinician_id, -n FROM cases_censusfact
    WHERE patient_id IN (SELECT patient_id FROM dirty)
    UNION ALL
    SELECT kind, day, key, clinician_id, n FROM live
)
"""
CENSUS_FROM_ROLLUP = (
    ROLLUP_CELLS  # noqa: S608  # nosec B608 - our own SQL; the values are parameters
    + """SELECT kind, key, clinician_id, sum(n) FROM cells
WHERE kind = ANY(%(kinds)s)
  AND ((kind = 'stage' AND day <= %(end)s) OR (kind <> 'stage' AND day >= %(start)s AND day <= %(end)s))
  AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
GROUP BY kind, key, clinician_id
HAVING sum(n) <> 0
"""
)

# Cells where the counts and a count of every patient's facts from their cases disagree (none: all is well).
CHECK_SQL = """
SELECT kind, day, key, clinician_id, coalesce(r.n, 0), coalesce(f.n, 0)
FROM (SELECT kind, day, key, clinician_id, n FROM cases_censuscount WHERE n <> 0) r
FULL JOIN (
    SELECT kind, day, key, clinician_id, sum(n) AS n FROM ({facts}) f GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
) f USING (kind, day, key, clinician_id)
WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
ORDER BY 1, 2, 3, 4
"""


def install_census_triggers() -> None:
    """(Re)create the marking triggers (idempotent; the clinic-day function comes with the visits rollup's)."""
    with connection.cursor() as cursor:
        install_triggers(connection)
        cursor.execute(TRIGGERS_SQL)


def rebuild_census() -> int:
    """Reinstall the triggers and recount every patient, with case, stage and patient writes held off meanwhile
    (the backfill, a repair, or after a bulk load that bypassed the triggers). Returns the number of cells."""
    if not has_rollups():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOUNT_LOCK])
        cursor.execute("LOCK TABLE cases_case, cases_stagetransition, cases_patient IN SHARE MODE")
        install_census_triggers()
        cursor.execute("DELETE FROM cases_reportdirty")
        cursor.execute("DELETE FROM cases_censusfact")
        cursor.execute("DELETE FROM cases_censuscount")
        every_patient = facts_sql("SELECT id FROM cases_patient")
        cursor.execute(
            f"INSERT INTO cases_censusfact (patient_id, kind, day, key, clinician_id, n) SELECT * FROM ({every_patient}) f"  # noqa: S608  # nosec B608 - our own SQL, no input
        )
        cursor.execute(
            "INSERT INTO cases_censuscount (kind, day, key, clinician_id, n) "
            "SELECT kind, day, key, clinician_id, sum(n) FROM cases_censusfact GROUP BY 1, 2, 3, 4 "
            "HAVING sum(n) <> 0"
        )
        cells = int(cursor.rowcount)
        if scores_installed():  # from migration 0025 on: the outcomes' scores, under the same locks
            cells += rebuild_scores()
        if remission_installed():  # from 0026 on: their remission
            rebuild_remission()
        return cells


def recount_census() -> int:
    """The pass: recount the marked patients; returns how many cells changed. Waits for a pass under way (a
    short transaction) rather than skipping, so a caller knows the marks it saw are done when it returns."""
    if not has_rollups():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOUNT_LOCK])
        cursor.execute("SET LOCAL jit = off")  # compiling costs more than a pass over a few patients
        scores = f"{recount_ctes()}," if scores_installed() else ""  # the outcomes' first and latest scores
        if remission_installed():  # and their remission
            scores += f"{remission_recount_ctes()},"
        cursor.execute(RECOUNT_SQL.format(facts=facts_sql("SELECT patient_id FROM marks"), scores=scores))
        changed = int(cursor.rowcount)
        cursor.execute("DELETE FROM cases_censuscount WHERE n = 0")
        if scores:
            cursor.execute("DELETE FROM cases_scorecount WHERE histories = 0")
        return changed


def census_differences() -> list[tuple[object, ...]]:
    """(kind, day, key, clinician, rollup, cases) of every cell where the counts (with no patient marked) and
    the cases disagree; run after a pass, marked patients show as differences until recounted."""
    if not has_rollups():
        return []
    with connection.cursor() as cursor:
        cursor.execute(CHECK_SQL.format(facts=facts_sql("SELECT id FROM cases_patient")))
        return list(cursor.fetchall())


CENSUS_KINDS = ["opened", "first", "closed", "stage"]
OUTCOMES_KINDS = ["stay", "screen"]
RETENTION_KINDS = ["cohort", "stayed"]
RETENTION_DAYS = (30, 90, 180)  # the `kept<N>` keys of the `cohort` facts


def census_cells(
    start: dt.date, end: dt.date, clinician: uuid.UUID | None
) -> list[tuple[str, str, str, int, tuple[str, str, str] | None]]:
    """(kind, key, clinician id, n, the clinician's (first name, last name, username) or None) of the census for
    the range (see `CENSUS_FROM_ROLLUP`), in one statement."""
    staff = connection.ops.quote_name(User._meta.db_table)
    cells = CENSUS_FROM_ROLLUP.format(facts=facts_sql("SELECT patient_id FROM dirty"))
    statement = f"SELECT cells.*, staff.first_name, staff.last_name, staff.username FROM ({cells}) cells LEFT JOIN {staff} staff ON staff.id = cells.clinician_id"  # noqa: S608  # nosec B608 - our own SQL and table name; the values are parameters
    params = {"start": start, "end": end, "clinician": clinician, "kinds": CENSUS_KINDS}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [
            (kind, key, str(pk), int(n), None if username is None else (first, last, username))
            for kind, key, pk, n, first, last, username in cursor.fetchall()
        ]


def outcome_cells(start: dt.date, end: dt.date, clinician: uuid.UUID | None) -> dict[tuple[str, str], int]:
    """{(kind, key): n} of the outcomes' stays (`stay`, key `stage:days`, by the day the stay ended) and screens
    in recovery (`screen`, key `negative` or `other`, by collection day) for the range, the same way."""
    statement = CENSUS_FROM_ROLLUP.format(facts=facts_sql("SELECT patient_id FROM dirty"))
    params = {"start": start, "end": end, "clinician": clinician, "kinds": OUTCOMES_KINDS}
    found: dict[tuple[str, str], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        for kind, key, _clinician, n in cursor.fetchall():
            found[(kind, key)] = found.get((kind, key), 0) + int(n)
    return found


# The retention's cells for the cases opened in %(start)s to %(end)s, the same way: the cohort facts by opening
# day (so that the caller can take the days on which a case had reached day N by today), the stays' lengths summed.
RETENTION_FROM_ROLLUP = (
    ROLLUP_CELLS  # noqa: S608  # nosec B608 - our own SQL; the values are parameters
    + """SELECT kind, key, CASE WHEN kind = 'cohort' THEN day END, sum(n) FROM cells
WHERE kind = ANY(%(kinds)s) AND day >= %(start)s AND day <= %(end)s
  AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
GROUP BY 1, 2, 3
HAVING sum(n) <> 0
"""
)


def retention_cells(
    start: dt.date, end: dt.date, clinician: uuid.UUID | None
) -> list[tuple[str, str, dt.date | None, int]]:
    """(kind, key, opening day for `cohort` or None, n) of the retention for cases opened in the range: `cohort`
    keys `all`, `open`, `kept30`, `kept90`, `kept180` per opening day; `stayed` keyed by the length of the stay of
    a closed case. From the census rollup, exact (see `CENSUS_FROM_ROLLUP`), in one statement."""
    statement = RETENTION_FROM_ROLLUP.format(facts=facts_sql("SELECT patient_id FROM dirty"))
    params = {"start": start, "end": end, "clinician": clinician, "kinds": RETENTION_KINDS}
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return [(kind, key, day, int(n)) for kind, key, day, n in cursor.fetchall()]
