"""The rollups' SQL as migration 0027 runs it, frozen on 2026-12-04 (main at 7d76cd5) from cases/rollups.py,
cases/census_rollup.py and cases/score_rollup.py by scripts/freeze_rollups.py, with every template filled in (the
facts of every patient, the instruments' bands, the DSM-5 criteria other than craving) so that nothing here reads
live code.

A migration must do the same thing on a fresh database next year as it did the day it was written. Never edit this
module. A change to the rollups' SQL (a trigger, a fact, a table) needs a new migration that installs it from its
own frozen copy (`python scripts/freeze_rollups.py NNNN`) and rebuilds the rollup; `manage.py rollup_visits
--check` tells the live code's counts from the stored ones.

PostgreSQL only (the migrations do nothing on SQLite, which has no rollups). The underscore keeps Django's
migration loader from reading this module as a migration.
"""

from typing import Any

CLINIC_ZONE_SQL = """
SELECT set_config('cases.clinic_zone', %s, true)
"""


CLINIC_DAY_FUNCTION_SQL = """
DO $$
BEGIN
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION cases_clinic_day(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS %L',
        format('SELECT (at AT TIME ZONE %L)::date', current_setting('cases.clinic_zone'))
    );
END;
$$;
"""


VISIT_TRIGGERS_SQL = """
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


VISIT_DROP_SQL = """
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


VISIT_COUNT_ALL_SQL = """
INSERT INTO cases_visitcount (day, visit_type, clinician_id, status, visits, settled)
SELECT cases_clinic_day(scheduled_at), visit_type, clinician_id, status, count(*), true
FROM cases_visit GROUP BY 1, 2, 3, 4
"""


CENSUS_RECOUNT_LOCK = 0x63656e737573636e


CENSUS_TRIGGERS_SQL = """
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


CENSUS_DROP_SQL = """
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


CENSUS_FACTS_SQL = """
INSERT INTO cases_censusfact (patient_id, kind, day, key, clinician_id, n)
SELECT * FROM (WITH patient_cases AS (
    SELECT c.id, c.patient_id, c.opened_on, c.closed_on, coalesce(c.discharge_reason, '') AS reason,
           coalesce(c.primary_clinician_id, '00000000-0000-0000-0000-000000000000'::uuid) AS clinician_id,
           row_number() OVER (PARTITION BY c.patient_id ORDER BY c.opened_on, c.created_at, c.id) AS episode
    FROM cases_case c JOIN cases_patient p ON p.id = c.patient_id
    WHERE c.patient_id IN (SELECT id FROM cases_patient) AND NOT p.entered_in_error
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
) f
"""


CENSUS_COUNTS_SQL = """
INSERT INTO cases_censuscount (kind, day, key, clinician_id, n) SELECT kind, day, key, clinician_id, sum(n) FROM cases_censusfact GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
"""


SCORE_TABLES_SQL = """
CREATE TABLE cases_scorefact (
    patient_id uuid NOT NULL,
    case_id uuid NOT NULL,
    instrument varchar(10) NOT NULL,
    clinician_id uuid NOT NULL,
    first_day date NOT NULL,
    last_day date NOT NULL,
    days date[] NOT NULL,
    totals smallint[] NOT NULL
);
CREATE INDEX cases_scorefact_patient ON cases_scorefact (patient_id);
CREATE INDEX cases_scorefact_span ON cases_scorefact USING gist (daterange(first_day, last_day, '[]'));
CREATE TABLE cases_scorecount (
    instrument varchar(10) NOT NULL,
    day date NOT NULL,
    clinician_id uuid NOT NULL,
    histories bigint NOT NULL,
    first_sum bigint NOT NULL,
    latest_sum bigint NOT NULL,
    improved bigint NOT NULL,
    PRIMARY KEY (instrument, day, clinician_id)
);
"""


SCORE_DROP_TABLES_SQL = """
DROP TABLE IF EXISTS cases_scorefact; DROP TABLE IF EXISTS cases_scorecount;
"""


SCORE_TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION cases_scores_assessment_updated() RETURNS trigger AS $$
BEGIN
    INSERT INTO cases_reportdirty (patient_id)
    SELECT DISTINCT c.patient_id
    FROM (
        SELECT o.case_id AS old_case, n.case_id AS new_case
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.case_id, o.instrument, o.total, o.administered_at, o.recorded_at, o.entered_in_error,
               o.responses::jsonb)
              IS DISTINCT FROM
              (n.case_id, n.instrument, n.total, n.administered_at, n.recorded_at, n.entered_in_error,
               n.responses::jsonb)
    ) changed
    CROSS JOIN LATERAL (VALUES (changed.old_case), (changed.new_case)) AS x (case_id)
    JOIN cases_case c ON c.id = x.case_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION cases_scores_truncated() RETURNS trigger AS $$
BEGIN
    DELETE FROM cases_scorefact;
    DELETE FROM cases_scorecount;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS cases_scores_assessment_insert ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_update ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_delete ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_truncate ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_case_truncate ON cases_case;
CREATE TRIGGER cases_scores_assessment_insert AFTER INSERT ON cases_assessment
    REFERENCING NEW TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_scores_assessment_update AFTER UPDATE ON cases_assessment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_scores_assessment_updated();
CREATE TRIGGER cases_scores_assessment_delete AFTER DELETE ON cases_assessment
    REFERENCING OLD TABLE AS written_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_census_stage_written();
CREATE TRIGGER cases_scores_assessment_truncate AFTER TRUNCATE ON cases_assessment
    FOR EACH STATEMENT EXECUTE FUNCTION cases_scores_truncated();
CREATE TRIGGER cases_scores_case_truncate AFTER TRUNCATE ON cases_case
    FOR EACH STATEMENT EXECUTE FUNCTION cases_scores_truncated();
"""


SCORE_DROP_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS cases_scores_assessment_insert ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_update ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_delete ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_truncate ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_case_truncate ON cases_case;
DROP FUNCTION IF EXISTS cases_scores_assessment_updated();
DROP FUNCTION IF EXISTS cases_scores_truncated();
"""


SCORE_REBUILD_SQL = """
DELETE FROM cases_scorefact;
DELETE FROM cases_scorecount;
INSERT INTO cases_scorefact (patient_id, case_id, instrument, clinician_id, first_day, last_day, days, totals)
SELECT * FROM (
SELECT patient_id, case_id, instrument, clinician_id, days[1] AS first_day, days[cardinality(days)] AS last_day,
       days, totals
FROM (
    SELECT c.patient_id, a.case_id, a.instrument,
           coalesce(c.primary_clinician_id, '00000000-0000-0000-0000-000000000000'::uuid) AS clinician_id,
           array_agg(cases_clinic_day(a.administered_at) ORDER BY a.administered_at, a.recorded_at, a.id) AS days,
           array_agg(a.total ORDER BY a.administered_at, a.recorded_at, a.id) AS totals
    FROM cases_assessment a
    JOIN cases_case c ON c.id = a.case_id
    JOIN cases_patient p ON p.id = c.patient_id
    WHERE c.patient_id IN (SELECT id FROM cases_patient) AND NOT p.entered_in_error AND NOT a.entered_in_error
    GROUP BY c.patient_id, a.case_id, a.instrument, c.primary_clinician_id
) histories
) f;
INSERT INTO cases_scorecount (instrument, day, clinician_id, histories, first_sum, latest_sum, improved)
SELECT instrument, last_day, clinician_id, count(*), sum(totals[1]), sum(totals[cardinality(totals)]),
       count(*) FILTER (WHERE ((instrument = 'dsm5_sud' AND totals[1] BETWEEN 2 AND 3 AND totals[cardinality(totals)] < 2)
    OR (instrument = 'dsm5_sud' AND totals[1] BETWEEN 4 AND 5 AND totals[cardinality(totals)] < 4)
    OR (instrument = 'dsm5_sud' AND totals[1] BETWEEN 6 AND 11 AND totals[cardinality(totals)] < 6)
    OR (instrument = 'cows' AND totals[1] BETWEEN 5 AND 12 AND totals[cardinality(totals)] < 5)
    OR (instrument = 'cows' AND totals[1] BETWEEN 13 AND 24 AND totals[cardinality(totals)] < 13)
    OR (instrument = 'cows' AND totals[1] BETWEEN 25 AND 36 AND totals[cardinality(totals)] < 25)
    OR (instrument = 'cows' AND totals[1] BETWEEN 37 AND 48 AND totals[cardinality(totals)] < 37)
    OR (instrument = 'phq9' AND totals[1] BETWEEN 5 AND 9 AND totals[cardinality(totals)] < 5)
    OR (instrument = 'phq9' AND totals[1] BETWEEN 10 AND 14 AND totals[cardinality(totals)] < 10)
    OR (instrument = 'phq9' AND totals[1] BETWEEN 15 AND 19 AND totals[cardinality(totals)] < 15)
    OR (instrument = 'phq9' AND totals[1] BETWEEN 20 AND 27 AND totals[cardinality(totals)] < 20)
    OR (instrument = 'gad7' AND totals[1] BETWEEN 5 AND 9 AND totals[cardinality(totals)] < 5)
    OR (instrument = 'gad7' AND totals[1] BETWEEN 10 AND 14 AND totals[cardinality(totals)] < 10)
    OR (instrument = 'gad7' AND totals[1] BETWEEN 15 AND 21 AND totals[cardinality(totals)] < 15)))
FROM cases_scorefact WHERE cardinality(totals) >= 2
GROUP BY 1, 2, 3;
"""


REMISSION_TABLE_SQL = """
CREATE TABLE cases_remissionfact (
    patient_id uuid NOT NULL,
    case_id uuid NOT NULL,
    days date[] NOT NULL,
    ats timestamptz[] NOT NULL,
    last_met int[] NOT NULL,
    first_e int
);
CREATE INDEX cases_remissionfact_patient ON cases_remissionfact (patient_id);
CREATE INDEX cases_remissionfact_case ON cases_remissionfact (case_id);
"""


REMISSION_DROP_TABLE_SQL = """
DROP TABLE IF EXISTS cases_remissionfact;
"""


REMISSION_REBUILD_SQL = """
INSERT INTO cases_remissionfact (patient_id, case_id, days, ats, last_met, first_e) SELECT * FROM (
SELECT patient_id, case_id, array_agg(day ORDER BY r), array_agg(at ORDER BY r), array_agg(last_met ORDER BY r),
       min(r) FILTER (WHERE total >= 2)
FROM (
    SELECT patient_id, case_id, day, at, total, r,
           coalesce(max(CASE WHEN met THEN r END) OVER (PARTITION BY case_id ORDER BY r), 0) AS last_met
    FROM (
        SELECT c.patient_id, a.case_id, cases_clinic_day(a.administered_at) AS day, a.administered_at AS at,
               a.total, ((a.responses -> 'larger_longer') = 'true'::jsonb
               OR (a.responses -> 'cut_down') = 'true'::jsonb
               OR (a.responses -> 'time_spent') = 'true'::jsonb
               OR (a.responses -> 'role_failure') = 'true'::jsonb
               OR (a.responses -> 'social_problems') = 'true'::jsonb
               OR (a.responses -> 'activities_given_up') = 'true'::jsonb
               OR (a.responses -> 'hazardous_use') = 'true'::jsonb
               OR (a.responses -> 'physical_psych_problems') = 'true'::jsonb
               OR (a.responses -> 'tolerance') = 'true'::jsonb
               OR (a.responses -> 'withdrawal') = 'true'::jsonb) AS met, (row_number() OVER (PARTITION BY a.case_id ORDER BY a.administered_at, a.recorded_at, a.id))::int AS r
        FROM cases_assessment a
        JOIN cases_case c ON c.id = a.case_id
        JOIN cases_patient p ON p.id = c.patient_id
        WHERE c.patient_id IN (SELECT id FROM cases_patient) AND NOT p.entered_in_error AND NOT a.entered_in_error
          AND a.instrument = 'dsm5_sud'
    ) checklists
) placed
GROUP BY patient_id, case_id
) f
"""


def install_visit_triggers(cursor: Any, time_zone: str) -> None:
    """The clinic-day function (the clinic's time zone written into its body) and the visit-count triggers."""
    cursor.execute(CLINIC_ZONE_SQL, [time_zone])
    cursor.execute(CLINIC_DAY_FUNCTION_SQL)
    cursor.execute(VISIT_TRIGGERS_SQL)


def _table_exists(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
    return bool(cursor.fetchone()[0])


def install_score_triggers(cursor: Any) -> None:
    cursor.execute(SCORE_TRIGGERS_SQL)


def rebuild_remission(cursor: Any) -> None:
    """Every case's remission facts (inside the census's rebuild, or migration 0026)."""
    cursor.execute("LOCK TABLE cases_assessment IN SHARE MODE")
    cursor.execute("DELETE FROM cases_remissionfact")
    cursor.execute(REMISSION_REBUILD_SQL)


def rebuild_census(cursor: Any, time_zone: str) -> None:
    """The triggers reinstalled and every patient counted again, with writes held off: the census facts and
    counts, and, once their tables exist (migrations 0025 and 0026), the outcomes' scores and remission."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CENSUS_RECOUNT_LOCK])
    cursor.execute("LOCK TABLE cases_case, cases_stagetransition, cases_patient IN SHARE MODE")
    install_visit_triggers(cursor, time_zone)
    cursor.execute(CENSUS_TRIGGERS_SQL)
    cursor.execute("DELETE FROM cases_reportdirty")
    cursor.execute("DELETE FROM cases_censusfact")
    cursor.execute("DELETE FROM cases_censuscount")
    cursor.execute(CENSUS_FACTS_SQL)
    cursor.execute(CENSUS_COUNTS_SQL)
    if _table_exists(cursor, "cases_scorefact"):
        cursor.execute("LOCK TABLE cases_assessment IN SHARE MODE")
        install_score_triggers(cursor)
        cursor.execute(SCORE_REBUILD_SQL)
    if _table_exists(cursor, "cases_remissionfact"):
        rebuild_remission(cursor)
