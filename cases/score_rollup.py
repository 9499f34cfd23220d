"""The outcomes report's first and latest scores from a rollup (PostgreSQL), part of the census rollup's pass
(cases/census_rollup.py). docs/reports.md ("The outcomes rollup") explains the design.

- **A fact per history.** Each (case, instrument) with valid scores (not entered in error) on a case of a patient
  not entered in error has one row in `cases_scorefact`: its patient, its case's current primary clinician, and
  the clinic dates (`days`) and totals (`totals`) of all its valid scores in time order (administered, then
  recorded, then id), with the first and last of those days as columns.
- **Counts per last day.** `cases_scorecount` sums, per (instrument, last day, clinician), the histories of two or
  more scores: how many, the sums of their first and latest totals and how many improved by a band. A history whose
  days all fall in the report's range [start, end] counts in it exactly as stored; those are the histories whose
  last day is in the range, less those whose first day is before `start`.
- **The histories crossing an end of the range** (a score before `start` and one on or after it, or one on or
  before `end` and one after it: found through a GiST index on their span) are taken out of the counts and
  counted again from their own arrays: the first score in the range is element `width_bucket(start - 1, days) +
  1` (the number of days before `start`, plus one), the latest element `width_bucket(end, days)`; the history
  counts when those are two different scores. No assessment is read.
- **Marked and recounted with the census.** Triggers on assessments mark their patients in `cases_reportdirty`
  (insert only, in the writing transaction), as the census's triggers on cases (a primary clinician, a patient)
  and patients (entered in error) do; the census pass (`recount_census`) replaces the marked patients' score facts
  and counts in the same statement as their census facts.
- **Never stale.** The report (`FIGURES_SQL`), in one statement, takes the stored facts of the patients still
  marked out of the counts and adds their histories computed from their assessments as they are now.

The tables are PostgreSQL's only (arrays, a GiST index), created by migration 0025 with plain SQL: there are no
Django models for them. SQLite, and a clinician's caseload, count the assessments (cases/reports/outcomes_report.py).
"""

import datetime as dt
import uuid
from typing import Any

from django.db import connection

from cases.instruments.definitions import DSM5_SUD, INSTRUMENTS

NO_CLINICIAN = "00000000-0000-0000-0000-000000000000"  # a case without a primary clinician (as the census)

TABLES_SQL = """
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

DROP_TABLES_SQL = "DROP TABLE IF EXISTS cases_scorefact; DROP TABLE IF EXISTS cases_scorecount;"

IN_TIME_ORDER = "a.administered_at, a.recorded_at, a.id"

# The score facts of the patients `{patients}` (a query of patient ids), from their valid assessments as they are.
FACTS_SQL = """
SELECT patient_id, case_id, instrument, clinician_id, days[1] AS first_day, days[cardinality(days)] AS last_day,
       days, totals
FROM (
    SELECT c.patient_id, a.case_id, a.instrument,
           coalesce(c.primary_clinician_id, '{none}'::uuid) AS clinician_id,
           array_agg(cases_clinic_day(a.administered_at) ORDER BY {order}) AS days,
           array_agg(a.total ORDER BY {order}) AS totals
    FROM cases_assessment a
    JOIN cases_case c ON c.id = a.case_id
    JOIN cases_patient p ON p.id = c.patient_id
    WHERE c.patient_id IN ({patients}) AND NOT p.entered_in_error AND NOT a.entered_in_error
    GROUP BY c.patient_id, a.case_id, a.instrument, c.primary_clinician_id
) histories
"""


def facts_sql(patients: str) -> str:
    return FACTS_SQL.format(patients=patients, none=NO_CLINICIAN, order=IN_TIME_ORDER)


def improved_sql(instrument: str, first: str, latest: str) -> str:
    """SQL true when the `latest` total is in a better band of `instrument` than the `first` (the outcomes
    report's rule: below the lowest total of the first score's band), from the declared bands (our own numbers
    and codes, written as literals). SOWS has no bands: never."""
    terms = [
        f"({instrument} = '{code}' AND {first} BETWEEN {band.low} AND {band.high} AND {latest} < {band.low})"
        for code, declared in INSTRUMENTS.items()
        for band in declared.bands[1:]
    ]
    return "(" + (" OR ".join(terms) or "false") + ")"


WHOLE_FIRST = "totals[1]"
WHOLE_LATEST = "totals[cardinality(totals)]"

# The pass's part (common table expressions joined to the census's `RECOUNT_SQL`, after its `marks`): the marked
# patients' old score facts out, new ones in, the difference of the histories of two or more scores added to the
# counts of their last day.
RECOUNT_CTES = """
old_scores AS (
    DELETE FROM cases_scorefact WHERE patient_id IN (SELECT patient_id FROM marks)
    RETURNING instrument, last_day, clinician_id, totals, -1 AS sign
),
new_scores AS (
    INSERT INTO cases_scorefact (patient_id, case_id, instrument, clinician_id, first_day, last_day, days, totals)
    SELECT * FROM ({facts}) f
    RETURNING instrument, last_day, clinician_id, totals, 1 AS sign
),
score_cells AS (
    INSERT INTO cases_scorecount AS counted
        (instrument, day, clinician_id, histories, first_sum, latest_sum, improved)
    SELECT instrument, last_day, clinician_id, sum(sign), sum(sign * {first}), sum(sign * {latest}),
           sum(sign * CASE WHEN {improved} THEN 1 ELSE 0 END)
    FROM (SELECT * FROM old_scores UNION ALL SELECT * FROM new_scores) changed
    WHERE cardinality(totals) >= 2
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0 OR sum(sign * {first}) <> 0 OR sum(sign * {latest}) <> 0
        OR sum(sign * CASE WHEN {improved} THEN 1 ELSE 0 END) <> 0
    ON CONFLICT (instrument, day, clinician_id) DO UPDATE SET
        histories = counted.histories + EXCLUDED.histories, first_sum = counted.first_sum + EXCLUDED.first_sum,
        latest_sum = counted.latest_sum + EXCLUDED.latest_sum, improved = counted.improved + EXCLUDED.improved
    RETURNING 1
)"""


def recount_ctes() -> str:
    return RECOUNT_CTES.format(
        facts=facts_sql("SELECT patient_id FROM marks"),
        first=WHOLE_FIRST,
        latest=WHOLE_LATEST,
        improved=improved_sql("instrument", WHOLE_FIRST, WHOLE_LATEST),
    )


REBUILD_SQL = """
DELETE FROM cases_scorefact;
DELETE FROM cases_scorecount;
INSERT INTO cases_scorefact (patient_id, case_id, instrument, clinician_id, first_day, last_day, days, totals)
SELECT * FROM ({facts}) f;
INSERT INTO cases_scorecount (instrument, day, clinician_id, histories, first_sum, latest_sum, improved)
SELECT instrument, last_day, clinician_id, count(*), sum({first}), sum({latest}),
       count(*) FILTER (WHERE {improved})
FROM cases_scorefact WHERE cardinality(totals) >= 2
GROUP BY 1, 2, 3;
"""

TRIGGERS_SQL = """
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

DROP_TRIGGERS_SQL = """
DROP TRIGGER IF EXISTS cases_scores_assessment_insert ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_update ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_delete ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_assessment_truncate ON cases_assessment;
DROP TRIGGER IF EXISTS cases_scores_case_truncate ON cases_case;
DROP FUNCTION IF EXISTS cases_scores_assessment_updated();
DROP FUNCTION IF EXISTS cases_scores_truncated();
"""

# The first and latest score of the histories counted in clinic dates %(start)s to %(end)s, per instrument
# (histories, sum of first totals, sum of latest totals, improved), for a clinician (or null: all), in one
# statement:
# - `cases_scorecount` over the last days in the range: every stored history of two or more scores ending in it;
# - less the stored histories crossing `start` that ended in the range (they are in those counts with their whole
#   history's first score) and the stored histories of marked patients lying in the range;
# - plus the crossing histories of unmarked patients and every history of the marked patients (from their
#   assessments now), each counted over its scores in the range (`width_bucket` over its days).
FIGURES_SQL = """
WITH dirty AS (SELECT DISTINCT patient_id FROM cases_reportdirty),
crossing AS (  -- stored histories with scores on both sides of `start`, or of `end` (and not of `start`)
    SELECT patient_id, instrument, clinician_id, last_day, days, totals FROM cases_scorefact
    WHERE daterange(first_day, last_day, '[]') @> %(start)s::date AND first_day < %(start)s::date
      AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
    UNION ALL
    SELECT patient_id, instrument, clinician_id, last_day, days, totals FROM cases_scorefact
    WHERE daterange(first_day, last_day, '[]') @> %(end)s::date AND last_day > %(end)s::date
      AND first_day >= %(start)s::date
      AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
),
counted_stale AS (  -- stored histories the counts hold that are counted again below
    SELECT instrument, totals FROM crossing WHERE last_day <= %(end)s::date
    UNION ALL
    SELECT instrument, totals FROM cases_scorefact
    WHERE patient_id IN (SELECT patient_id FROM dirty)
      AND first_day >= %(start)s::date AND last_day <= %(end)s::date AND cardinality(days) >= 2
      AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
),
live AS ({live}),
recounted AS (  -- each history over its scores in the range: the first is element i, the latest element j
    SELECT instrument, totals, width_bucket(%(before_start)s::date, days) + 1 AS i,
           width_bucket(%(end)s::date, days) AS j
    FROM (
        SELECT instrument, days, totals FROM crossing WHERE patient_id NOT IN (SELECT patient_id FROM dirty)
        UNION ALL
        SELECT instrument, days, totals FROM live
        WHERE %(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid
    ) histories
),
in_range AS (
    SELECT instrument, totals[i] AS first_total, totals[j] AS latest_total FROM recounted WHERE j > i
)
SELECT instrument, sum(histories), sum(first_sum), sum(latest_sum), sum(improved)
FROM (
    SELECT instrument, histories, first_sum, latest_sum, improved FROM cases_scorecount
    WHERE day >= %(start)s::date AND day <= %(end)s::date
      AND (%(clinician)s::uuid IS NULL OR clinician_id = %(clinician)s::uuid)
    UNION ALL
    SELECT instrument, -1, -{whole_first}, -{whole_latest}, -(CASE WHEN {whole_improved} THEN 1 ELSE 0 END)
    FROM counted_stale
    UNION ALL
    SELECT instrument, 1, first_total, latest_total, CASE WHEN {range_improved} THEN 1 ELSE 0 END FROM in_range
) cells
GROUP BY instrument
HAVING sum(histories) > 0
"""


def score_figures(
    start: dt.date, end: dt.date, clinician: uuid.UUID | None
) -> dict[str, tuple[int, int, int, int]]:
    """{instrument: (histories, sum of first totals, sum of latest totals, improved)} over the cases with two or
    more valid scores of the instrument in clinic dates `start` to `end` (the whole clinic, or the cases whose
    primary clinician is `clinician`), from the rollup, in one statement (`FIGURES_SQL`)."""
    statement = FIGURES_SQL.format(
        live=facts_sql("SELECT patient_id FROM dirty"),
        whole_first=WHOLE_FIRST,
        whole_latest=WHOLE_LATEST,
        whole_improved=improved_sql("instrument", WHOLE_FIRST, WHOLE_LATEST),
        range_improved=improved_sql("instrument", "first_total", "latest_total"),
    )
    params = {
        "start": start,
        "end": end,
        "before_start": start - dt.timedelta(days=1),
        "clinician": clinician,
    }
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return {
            code: (int(histories), int(first), int(latest), int(improved))
            for code, histories, first, latest, improved in cursor.fetchall()
        }


def scores_installed() -> bool:
    """The score rollup's tables exist (migration 0025 has run): the census pass and rebuild include them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('cases_scorefact') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def install_score_triggers() -> None:
    with connection.cursor() as cursor:
        cursor.execute(TRIGGERS_SQL)


def rebuild_scores() -> int:
    """Every patient's score facts and the counts recomputed (inside the census's rebuild, which holds writes
    off and clears the marks). Returns the number of count cells."""
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE cases_assessment IN SHARE MODE")
        install_score_triggers()
        cursor.execute(
            REBUILD_SQL.format(
                facts=facts_sql("SELECT id FROM cases_patient"),
                first=WHOLE_FIRST,
                latest=WHOLE_LATEST,
                improved=improved_sql("instrument", WHOLE_FIRST, WHOLE_LATEST),
            )
        )
        cursor.execute("SELECT count(*) FROM cases_scorecount")
        return int(cursor.fetchone()[0])


# Differences between the rollup and the assessments (none: all is well): stored facts that differ from the
# facts computed now, and count cells that differ from those facts summed.
CHECK_FACTS_SQL = """
SELECT 'fact', case_id::text || ' ' || instrument, coalesce(s.totals::text, '-'), coalesce(f.totals::text, '-')
FROM cases_scorefact s
FULL JOIN ({facts}) f USING (patient_id, case_id, instrument, clinician_id, first_day, last_day, days, totals)
WHERE s.case_id IS NULL OR f.case_id IS NULL
"""
CHECK_COUNTS_SQL = """
SELECT 'count', instrument || ' ' || day || ' ' || clinician_id,
       coalesce(r.histories || '/' || r.first_sum || '/' || r.latest_sum || '/' || r.improved, '-'),
       coalesce(f.histories || '/' || f.first_sum || '/' || f.latest_sum || '/' || f.improved, '-')
FROM (SELECT * FROM cases_scorecount WHERE histories <> 0) r
FULL JOIN (
    SELECT instrument, last_day AS day, clinician_id, count(*) AS histories, sum({first}) AS first_sum,
           sum({latest}) AS latest_sum, count(*) FILTER (WHERE {improved}) AS improved
    FROM ({facts}) f WHERE cardinality(totals) >= 2 GROUP BY 1, 2, 3
) f USING (instrument, day, clinician_id)
WHERE (r.histories, r.first_sum, r.latest_sum, r.improved) IS DISTINCT FROM
      (f.histories, f.first_sum, f.latest_sum, f.improved)
"""


def score_differences() -> list[tuple[str, str, str, str]]:
    """(what, which, rollup, assessments) of every stored fact or count cell that differs from the assessments;
    run after a pass (marked patients show as differences until recounted)."""
    every_patient = facts_sql("SELECT id FROM cases_patient")
    improved = improved_sql("instrument", WHOLE_FIRST, WHOLE_LATEST)
    found: list[tuple[str, str, str, str]] = []
    with connection.cursor() as cursor:
        cursor.execute(CHECK_FACTS_SQL.format(facts=every_patient))
        found += cursor.fetchall()
        cursor.execute(
            CHECK_COUNTS_SQL.format(
                facts=every_patient, first=WHOLE_FIRST, latest=WHOLE_LATEST, improved=improved
            )
        )
        found += cursor.fetchall()
    if remission_installed():
        found += remission_differences()
    return found


# --- Remission (the outcomes report's `remission`): a fact per case with DSM-5 checklists ------------------------
#
# `cases_remissionfact`: per case with valid DSM-5 checklists (on a patient not entered in error), in time order,
# the clinic date (`days`) and moment (`ats`) of each, `last_met[i]` the position of the latest checklist up to
# the i-th meeting a criterion other than craving (0: none yet), and `first_e` the position of the first meeting
# two or more criteria (null: none). As of a clinic day `end`, with j = width_bucket(end, days) checklists dated
# up to it and k = last_met[j] (cases.remission's rule): E exists when first_e <= j, D is checklist k, C is
# checklist j when it is later than D (ats[j] > ats[k]); early when D + 3 months <= C's date, sustained at 12.

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

DROP_REMISSION_TABLE_SQL = "DROP TABLE IF EXISTS cases_remissionfact;"


def _met_sql() -> str:
    """A checklist meets a criterion other than craving (`criteria_met_other_than_craving`, the same keys)."""
    counted = [item.code for item in DSM5_SUD.items if item.counted and item.code != "craving"]
    return "(" + " OR ".join(f"(a.responses -> '{code}') = 'true'::jsonb" for code in counted) + ")"


REMISSION_FACTS_SQL = """
SELECT patient_id, case_id, array_agg(day ORDER BY r), array_agg(at ORDER BY r), array_agg(last_met ORDER BY r),
       min(r) FILTER (WHERE total >= 2)
FROM (
    SELECT patient_id, case_id, day, at, total, r,
           coalesce(max(CASE WHEN met THEN r END) OVER (PARTITION BY case_id ORDER BY r), 0) AS last_met
    FROM (
        SELECT c.patient_id, a.case_id, cases_clinic_day(a.administered_at) AS day, a.administered_at AS at,
               a.total, {met} AS met, (row_number() OVER (PARTITION BY a.case_id ORDER BY {order}))::int AS r
        FROM cases_assessment a
        JOIN cases_case c ON c.id = a.case_id
        JOIN cases_patient p ON p.id = c.patient_id
        WHERE c.patient_id IN ({patients}) AND NOT p.entered_in_error AND NOT a.entered_in_error
          AND a.instrument = 'dsm5_sud'
    ) checklists
) placed
GROUP BY patient_id, case_id
"""


def remission_facts_sql(patients: str) -> str:
    return REMISSION_FACTS_SQL.format(patients=patients, met=_met_sql(), order=IN_TIME_ORDER)


REMISSION_RECOUNT_CTES = """
old_remission AS (DELETE FROM cases_remissionfact WHERE patient_id IN (SELECT patient_id FROM marks)),
new_remission AS (
    INSERT INTO cases_remissionfact (patient_id, case_id, days, ats, last_met, first_e) SELECT * FROM ({facts}) f
)"""


def remission_recount_ctes() -> str:
    return REMISSION_RECOUNT_CTES.format(facts=remission_facts_sql("SELECT patient_id FROM marks"))


# The remission of the cases `{cases}` (a query of case ids: those in recovery at the end of `end`), as of the
# clinic day `end`: the stored facts of unmarked patients and the marked patients' facts from their checklists now.
REMISSION_SQL = """
WITH dirty AS (SELECT DISTINCT patient_id FROM cases_reportdirty),
facts AS (
    SELECT case_id, days, ats, last_met, first_e FROM cases_remissionfact
    WHERE patient_id NOT IN (SELECT patient_id FROM dirty)
    UNION ALL
    SELECT case_id, days, ats, last_met, first_e FROM ({live}) live (patient_id, case_id, days, ats, last_met, first_e)
),
placed AS MATERIALIZED (  -- j: how many checklists are dated up to `end`; k: D among them
    SELECT days, ats, first_e, j, last_met[j] AS k
    FROM (
        SELECT days, ats, last_met, first_e, width_bucket(%s::date, days) AS j
        FROM facts WHERE case_id IN ({cases})
    ) counted
    WHERE j > 0
),
remitted AS (
    SELECT days[j] AS c_on, days[k] AS d_on FROM placed WHERE first_e <= j AND k > 0 AND ats[j] > ats[k]
)
SELECT count(*) FILTER (WHERE (d_on + interval '3 months')::date <= c_on
                          AND (d_on + interval '12 months')::date > c_on),
       count(*) FILTER (WHERE (d_on + interval '12 months')::date <= c_on)
FROM remitted
"""


def remission_figures(cases_sql: str, cases_params: list[Any], end: dt.date) -> tuple[int, int]:
    """(early, sustained) among the cases of `cases_sql` (a query of case ids with its parameters) as of the
    clinic day `end`, from the remission facts, in one statement."""
    statement = REMISSION_SQL.format(
        live=remission_facts_sql("SELECT patient_id FROM dirty"), cases=cases_sql
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [end, *cases_params])
        early, sustained = cursor.fetchone()
    return int(early), int(sustained)


def remission_installed() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('cases_remissionfact') IS NOT NULL")
        return bool(cursor.fetchone()[0])


REMISSION_REBUILD_SQL = """
INSERT INTO cases_remissionfact (patient_id, case_id, days, ats, last_met, first_e) SELECT * FROM ({facts}) f
"""


def rebuild_remission() -> int:
    """Every case's remission facts (inside the census's rebuild). Returns how many cases have some."""
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE cases_assessment IN SHARE MODE")
        cursor.execute("DELETE FROM cases_remissionfact")
        cursor.execute(
            REMISSION_REBUILD_SQL.format(facts=remission_facts_sql("SELECT id FROM cases_patient"))
        )
        return int(cursor.rowcount)


CHECK_REMISSION_SQL = """
SELECT 'remission', coalesce(s.case_id, f.case_id)::text,
       coalesce(row(s.days, s.last_met, s.first_e)::text, '-'), coalesce(row(f.days, f.last_met, f.first_e)::text, '-')
FROM cases_remissionfact s
FULL JOIN ({facts}) f (patient_id, case_id, days, ats, last_met, first_e)
    ON f.case_id = s.case_id AND f.patient_id = s.patient_id
WHERE (s.patient_id, s.case_id, s.days, s.ats, s.last_met, s.first_e)
      IS DISTINCT FROM (f.patient_id, f.case_id, f.days, f.ats, f.last_met, f.first_e)
"""


def remission_differences() -> list[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(CHECK_REMISSION_SQL.format(facts=remission_facts_sql("SELECT id FROM cases_patient")))
        return list(cursor.fetchall())
