"""`make bench-reports`: the four reports at network scale, each beside hand-written SQL of the same numbers.

Builds BENCH_REPORTS_DATABASE_URL (default: the `clinic_bench_reports` database on the local server) once:
`seed_demo --patients 50000 --visit-density 2` (COPY loads: 56,000 cases, 1.5 million visits, 640,000
assessments, 390,000 urine screens, 200,000 stage changes; 20 to 35 minutes on two cores), then VACUUM
ANALYZE, and records the build time and the day it was seeded on the database (its comment). Later runs reuse
it.

Then, for each report, over a fixed range (the twelve calendar months up to the day the data was seeded):

- the API: GET /api/v1/reports/<name>/?start=&end= as the demo administrator, through Django's test client
  (routing, middleware, authentication, audit, rendering; no network);
- the SQL: one hand-written statement (below, one per report) computing the same numbers as docs/reports.md
  defines them, run with psycopg under the PostgreSQL settings the reports set for their own transaction;

one warm-up each, then BENCH_REPORTS_RUNS (5) timed runs of each, taking turns (a burst of other work on the
machine slows both alike), and prints the medians, one line per report
(`census api=0.21s sql=0.15s ratio=1.4`), then the dataset's size. The SQL returns its numbers in the API's
JSON shape and the two are compared, as they are and with a clinician filter: any difference is printed and the
script exits 1, so the benchmark doubles as a cross-check of the reports at scale. The aim: each report under 1
second and within 2x of its SQL; `--explain` prints EXPLAIN ANALYZE of the API's slow queries (10 ms or more)
for a report that misses it.

    python scripts/bench_reports.py [--explain]
"""

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_reports"
PATIENTS = 50_000
VISIT_DENSITY = "2"  # about 26 visits a case instead of 15: 1.5 million visits from 50,000 patients
RUNS = int(os.environ.get("BENCH_REPORTS_RUNS", "5"))
AIM_SECONDS = 1.0
AIM_RATIO = 2.0
TZ = "America/Chicago"
COUNTED_TABLES = {
    "patients": "cases_patient",
    "cases": "cases_case",
    "stage changes": "cases_stagetransition",
    "visits": "cases_visit",
    "assessments": "cases_assessment",
    "drug screens": "cases_drugscreen",
}


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_URL),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-key-not-secret-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "API_RATE_USER": "1000000/min",
        "LOG_LEVEL": "WARNING",  # not a line per sign-in from the lockout's log
    }


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def _ensure_database(env: dict[str, str]) -> dict[str, Any]:
    """Create, migrate and seed the database unless it already holds the network; returns what the build
    recorded on the database (its comment): the seconds it took and the day the data was seeded."""
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    if not _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    python = [sys.executable, "manage.py"]
    subprocess.run([*python, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    patients = int(_psql(url, "SELECT count(*) FROM cases_patient"))
    if 0 < patients < PATIENTS:
        raise SystemExit(
            f"{name} holds {patients} patients, fewer than {PATIENTS}: drop it (dropdb {name}) and run again"
        )
    if patients == 0:
        print(
            f"building {name}: {PATIENTS:,} patients, visit density {VISIT_DENSITY} (once; later runs reuse it; "
            "20 to 35 minutes)...",
            flush=True,
        )
        started = time.perf_counter()
        seeded_on = _psql(url, f"SELECT (now() AT TIME ZONE '{TZ}')::date")  # the seed's "today"
        subprocess.run(
            [*python, "seed_demo", "--patients", str(PATIENTS), "--visit-density", VISIT_DENSITY, "--force"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(["psql", url, "-qc", "VACUUM ANALYZE"], check=True)
        build = {"built_seconds": round(time.perf_counter() - started), "seeded_on": seeded_on}
        comment = json.dumps(build).replace("'", "''")
        subprocess.run(["psql", url, "-qc", f"COMMENT ON DATABASE \"{name}\" IS '{comment}'"], check=True)
    raw = _psql(
        url, f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{name}'"
    )
    try:
        return dict(json.loads(raw))
    except ValueError:  # seeded by hand: no record of the build
        return {"built_seconds": None, "seeded_on": _psql(url, f"SELECT (now() AT TIME ZONE '{TZ}')::date")}


def _dataset_line(url: str, build: dict[str, Any]) -> str:
    counts = ", ".join(
        f"{int(_psql(url, f'SELECT count(*) FROM {table}')):,} {label}"
        for label, table in COUNTED_TABLES.items()
    )
    built = build.get("built_seconds")
    took = f"built in {built // 60}m{built % 60:02d}s" if built is not None else "build time not recorded"
    return f"dataset: {counts} (seeded {build['seeded_on']}, {took})"


# --- The hand-written SQL: one statement per report, its numbers in the API's JSON shape. ---
#
# Written from docs/reports.md, not from cases/reports: a second reading of the definitions. Each statement
# takes %(start)s and %(end)s (clinic dates, both included) and %(clinician)s (a user id, or None), and sees
# what an administrator sees: the cases of patients not entered in error. The parameters are written into the
# statement where they are used (not through a CTE), so that the planner sees the values it estimates with.

START = "%(start)s::date"
END = "%(end)s::date"
START_AT = f"({START}::timestamp AT TIME ZONE '{TZ}')"  # the moment the first clinic day begins
END_AT = f"(({END} + 1)::timestamp AT TIME ZONE '{TZ}')"  # the moment the last one ends
TODAY = f"(now() AT TIME ZONE '{TZ}')::date"
CLINICIAN = "%(clinician)s::uuid"
OPEN_STAGES = "ARRAY['intake', 'assessment', 'treatment', 'recovery']"


def _local_date(column: str) -> str:
    return f"({column} AT TIME ZONE '{TZ}')::date"


def _reported(case_id: str, *, by_primary: bool = True) -> str:
    """The row's case is reported on: not a case of a patient entered in error (tested against the few such
    cases, so that no row needs a join and rows keep their index order), and, with the clinician filter, one
    whose primary clinician it names (`by_primary=False`: the caller applies the filter its own way)."""
    in_error = "SELECT x.id FROM cases_case x JOIN cases_patient pt ON pt.id = x.patient_id WHERE pt.entered_in_error"
    condition = f"{case_id} NOT IN ({in_error})"
    if by_primary:
        primary = f"SELECT x.id FROM cases_case x WHERE x.primary_clinician_id = {CLINICIAN}"
        condition += f" AND ({CLINICIAN} IS NULL OR {case_id} IN ({primary}))"
    return condition


# Each case's stage changes with the moment the stage entered was left (the next change), in one pass over the
# (case, sequence) order: a stay in `stage` runs from `effective_at` to `left_at` (None: still there).
HISTORY = f"""
history AS MATERIALIZED (
    SELECT t.case_id, t.to_stage AS stage, t.effective_at,
           lead(t.effective_at) OVER (PARTITION BY t.case_id ORDER BY t.sequence) AS left_at
    FROM cases_stagetransition t
    WHERE {_reported("t.case_id")}
)"""

CENSUS_SQL = f"""
WITH reported AS (
    SELECT c.id, c.patient_id, c.opened_on, c.closed_on, c.primary_clinician_id, c.discharge_reason
    FROM cases_case c
    WHERE {_reported("c.id", by_primary=False)}
),
open_then AS (  -- open at the end of `end`, in the stage their history had reached by then (none yet: intake)
    SELECT c.primary_clinician_id, coalesce(s.stage, 'intake') AS stage
    FROM reported c
    LEFT JOIN LATERAL (
        SELECT t.to_stage AS stage FROM cases_stagetransition t
        WHERE t.case_id = c.id AND t.effective_at < {END_AT}
        ORDER BY t.sequence DESC LIMIT 1
    ) s ON true
    WHERE c.opened_on <= {END} AND (c.closed_on IS NULL OR c.closed_on > {END})
      AND ({CLINICIAN} IS NULL OR c.primary_clinician_id = {CLINICIAN})
),
events AS (  -- `earlier`: how many of the patient's cases opened before (an earlier day, or recorded earlier)
    SELECT c.opened_on, c.closed_on, c.discharge_reason, c.primary_clinician_id,
           count(*) OVER (PARTITION BY c.patient_id ORDER BY c.opened_on, c.created_at
                          RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS earlier
    FROM cases_case c
    WHERE {_reported("c.id", by_primary=False)}
),
counted AS (
    SELECT * FROM events WHERE {CLINICIAN} IS NULL OR primary_clinician_id = {CLINICIAN}
),
discharged AS (
    SELECT discharge_reason, count(*) AS n FROM counted
    WHERE closed_on BETWEEN {START} AND {END}
    GROUP BY discharge_reason
)
SELECT jsonb_build_object(
    'as_of', {END},
    'open_by_stage', (
        SELECT jsonb_object_agg(s.stage, coalesce(o.n, 0))
        FROM unnest({OPEN_STAGES}) AS s(stage)
        LEFT JOIN (SELECT stage, count(*) AS n FROM open_then GROUP BY stage) o ON o.stage = s.stage
    ),
    'open_by_clinician', coalesce((
        SELECT jsonb_agg(jsonb_build_object('clinician', x.primary_clinician_id, 'open', x.n))
        FROM (SELECT primary_clinician_id, count(*) AS n FROM open_then GROUP BY 1) x
    ), '[]'),
    'admissions', (SELECT count(*) FROM counted WHERE opened_on BETWEEN {START} AND {END}),
    'readmissions', (SELECT count(*) FROM counted WHERE opened_on BETWEEN {START} AND {END} AND earlier > 0),
    'discharges', (SELECT coalesce(sum(n), 0) FROM discharged),
    'discharges_by_reason', (
        SELECT jsonb_object_agg(r.reason, coalesce(d.n, 0))
        FROM unnest(ARRAY['completed', 'left_against_advice', 'terminated_by_facility', 'transferred',
                          'incarcerated', 'death', 'other']) AS r(reason)
        LEFT JOIN discharged d ON d.discharge_reason = r.reason
    )
)
"""

RETENTION_DAYS = (30, 90, 180)
RETENTION_SQL = f"""
WITH cohort AS (
    SELECT c.opened_on, c.closed_on, c.closed_on - c.opened_on AS stay, {TODAY} AS today
    FROM cases_case c
    WHERE c.opened_on BETWEEN {START} AND {END} AND {_reported("c.id")}
),
figures AS (  -- day N: eligible if opened N days or more before today, retained if not closed before day N
    SELECT count(*) AS cohort_size, count(*) FILTER (WHERE closed_on IS NULL) AS open_cases,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY stay) AS median_stay,  -- closed cases: stay not null
           {
    ", ".join(
        f"count(*) FILTER (WHERE opened_on <= today - {n}) AS eligible_{n}, "
        f"count(*) FILTER (WHERE opened_on <= today - {n} AND (closed_on IS NULL OR stay >= {n})) "
        f"AS retained_{n}"
        for n in RETENTION_DAYS
    )
}
    FROM cohort
)
SELECT jsonb_build_object(
    'cohort_size', cohort_size,
    'open_cases', open_cases,
    'days', jsonb_build_array({
    ", ".join(
        f"jsonb_build_object('day', {n}, 'eligible', eligible_{n}, 'retained', retained_{n}, "
        f"'rate', round(retained_{n}::numeric / nullif(eligible_{n}, 0), 3))"
        for n in RETENTION_DAYS
    )
}),
    'median_length_of_stay_days', round(median_stay::numeric, 1)
)
FROM figures
"""

VISITS_SQL = f"""
WITH months AS (  -- the moments the clinic months of the range begin (a visit's month: a binary search)
    SELECT array_agg(m AT TIME ZONE '{TZ}' ORDER BY m) AS starts
    FROM generate_series(date_trunc('month', {START}::timestamp), {END}::timestamp, interval '1 month') AS m
),
held AS (
    SELECT width_bucket(v.scheduled_at, (SELECT starts FROM months)) AS month, v.visit_type, v.status,
           v.clinician_id
    FROM cases_visit v
    WHERE v.scheduled_at >= {START_AT} AND v.scheduled_at < {END_AT}
      AND {_reported("v.case_id", by_primary=False)}
      AND ({CLINICIAN} IS NULL OR v.clinician_id = {CLINICIAN})  -- here the visit's clinician
),
counted AS (
    SELECT to_char(date_trunc('month', {START}::timestamp) + (month - 1) * interval '1 month', 'YYYY-MM')
               AS month,
           visit_type, clinician_id,
           GROUPING(clinician_id) AS per_month,  -- 1: a (month, visit type) row; 0: a clinician's
           count(*) AS scheduled,
           count(*) FILTER (WHERE status = 'attended') AS attended,
           count(*) FILTER (WHERE status = 'no_show') AS no_show,
           count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
           count(*) FILTER (WHERE status = 'late_cancel') AS late_cancel
    FROM held
    GROUP BY GROUPING SETS ((month, visit_type), (clinician_id))
),
shaped AS (
    SELECT per_month, month, visit_type, clinician_id, scheduled,
           jsonb_build_object(
               'scheduled', scheduled, 'attended', attended, 'no_show', no_show, 'cancelled', cancelled,
               'late_cancel', late_cancel,
               'attendance_rate', round(attended::numeric / nullif(attended + no_show + late_cancel, 0), 3)
           ) AS figures
    FROM counted
)
SELECT jsonb_build_object(
    'rows', coalesce((
        SELECT jsonb_agg(jsonb_build_object('month', month, 'visit_type', visit_type)
                         || figures ORDER BY month, visit_type)
        FROM shaped WHERE per_month = 1
    ), '[]'),
    'by_clinician', coalesce((
        SELECT jsonb_agg(jsonb_build_object('clinician', clinician_id) || figures ORDER BY scheduled DESC)
        FROM shaped WHERE per_month = 0
    ), '[]')
)
"""

# DSM-5: a criterion other than craving met (tolerance and withdrawal always count for kratom: no supervision rule).
DSM5_MET = " OR ".join(
    f"coalesce((a.responses ->> '{code}')::boolean, false)"
    for code in (
        "larger_longer", "cut_down", "time_spent", "role_failure", "social_problems", "activities_given_up",
        "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
    )
)  # fmt: skip

OUTCOMES_SQL = f"""
WITH {HISTORY},
bands(instrument, lowest) AS (VALUES  -- the published cut-offs: the lowest total of each band, mildest first
    ('dsm5_sud', ARRAY[0, 2, 4, 6]),  -- none, mild, moderate, severe (criteria met)
    ('cows', ARRAY[0, 5, 13, 25, 37]),  -- none, mild, moderate, moderately severe, severe
    ('sows', NULL),  -- no bands
    ('phq9', ARRAY[0, 5, 10, 15, 20]),  -- minimal, mild, moderate, moderately severe, severe
    ('gad7', ARRAY[0, 5, 10, 15])  -- minimal, mild, moderate, severe
),
scores AS (  -- valid scores in the range, numbered per case and instrument in the order they were given
    SELECT a.instrument, a.case_id, a.total,
           row_number() OVER w AS n, count(*) OVER (PARTITION BY a.case_id, a.instrument) AS of
    FROM cases_assessment a
    WHERE NOT a.entered_in_error AND a.administered_at >= {START_AT} AND a.administered_at < {END_AT}
      AND {_reported("a.case_id")}
    WINDOW w AS (PARTITION BY a.case_id, a.instrument ORDER BY a.administered_at, a.recorded_at, a.id)
),
per_case AS (  -- the first and latest score of the cases with two or more
    SELECT instrument, max(total) FILTER (WHERE n = 1) AS first_total,
           max(total) FILTER (WHERE n = of) AS latest_total
    FROM scores WHERE of >= 2
    GROUP BY case_id, instrument
),
instruments AS (  -- improved: the latest total in a band below the first's (width_bucket: the band's number)
    SELECT b.instrument, b.lowest IS NOT NULL AS banded, coalesce(x.cases, 0) AS cases,
           x.mean_first, x.mean_latest, x.mean_change, coalesce(x.improved, 0) AS improved
    FROM bands b LEFT JOIN (
        SELECT pc.instrument, count(*) AS cases, avg(pc.first_total) AS mean_first,
               avg(pc.latest_total) AS mean_latest, avg(pc.latest_total - pc.first_total) AS mean_change,
               count(*) FILTER (WHERE width_bucket(pc.latest_total, bb.lowest)
                                      < width_bucket(pc.first_total, bb.lowest)) AS improved
        FROM per_case pc JOIN bands bb ON bb.instrument = pc.instrument
        GROUP BY pc.instrument
    ) x ON x.instrument = b.instrument
),
screens AS (  -- mitragynine tested, collected on a day at whose end the case was in recovery
    SELECT d.mitragynine
    FROM history h
    JOIN cases_drugscreen d ON d.case_id = h.case_id
                           AND d.collected_on >= {_local_date("h.effective_at")}
                           AND (h.left_at IS NULL OR d.collected_on < {_local_date("h.left_at")})
    WHERE h.stage = 'recovery'
      AND d.collected_on BETWEEN {START} AND {END} AND d.mitragynine IN ('positive', 'negative')
),
stays AS (  -- completed stays in an open stage, left in the range, in clinic days
    SELECT h.stage, {_local_date("h.left_at")} - {_local_date("h.effective_at")} AS days
    FROM history h
    WHERE h.left_at >= {START_AT} AND h.left_at < {END_AT} AND h.stage = ANY({OPEN_STAGES})
),
stay_medians AS (
    SELECT s.stage, count(st.days) AS stays,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY st.days))::numeric, 1) AS median
    FROM unnest({OPEN_STAGES}) AS s(stage) LEFT JOIN stays st ON st.stage = s.stage
    GROUP BY s.stage
),
checklists AS NOT MATERIALIZED (  -- valid DSM-5 checklists dated up to `end`, with whether one meets a criterion but craving
    SELECT a.case_id, a.administered_at, a.total, ({DSM5_MET}) AS met
    FROM cases_assessment a
    WHERE a.instrument = 'dsm5_sud' AND NOT a.entered_in_error AND a.administered_at < {END_AT}
),
remission AS (  -- in recovery at the end of `end`: SPEC 4 read literally, E, then D on or after it, then C after D
    SELECT {_local_date("d.at")} AS d_on, {_local_date("c.at")} AS c_on
    FROM history h
    CROSS JOIN LATERAL (  -- E: the latest checklist with two or more criteria met
        SELECT max(k.administered_at) AS at FROM checklists k WHERE k.case_id = h.case_id AND k.total >= 2
    ) e
    CROSS JOIN LATERAL (  -- D: the latest on or after E meeting a criterion other than craving
        SELECT max(k.administered_at) AS at FROM checklists k
        WHERE k.case_id = h.case_id AND k.administered_at >= e.at AND k.met
    ) d
    CROSS JOIN LATERAL (  -- C: the latest after D meeting none but craving
        SELECT max(k.administered_at) AS at FROM checklists k
        WHERE k.case_id = h.case_id AND k.administered_at > d.at AND NOT k.met
    ) c
    WHERE h.stage = 'recovery' AND h.effective_at < {END_AT} AND (h.left_at IS NULL OR h.left_at >= {END_AT})
)
SELECT jsonb_build_object(
    'instruments', (
        SELECT jsonb_agg(jsonb_build_object(
            'instrument', instrument, 'cases', cases,
            'mean_first', round(mean_first, 2), 'mean_latest', round(mean_latest, 2),
            'mean_change', round(mean_change, 2),
            'improved', CASE WHEN banded THEN improved END,
            'improved_share', CASE WHEN banded THEN round(improved::numeric / nullif(cases, 0), 3) END
        ))
        FROM instruments
    ),
    'mitragynine_screens', (SELECT count(*) FROM screens),
    'mitragynine_negative', (SELECT count(*) FROM screens WHERE mitragynine = 'negative'),
    'mitragynine_negative_share', (
        SELECT round((count(*) FILTER (WHERE mitragynine = 'negative'))::numeric / nullif(count(*), 0), 3)
        FROM screens
    ),
    'median_days_in_stage', (SELECT jsonb_object_agg(stage, median) FROM stay_medians),
    'completed_stays', (SELECT jsonb_object_agg(stage, stays) FROM stay_medians),
    'remission', (
        SELECT jsonb_build_object(
            'early', count(*) FILTER (WHERE (d_on + interval '3 months')::date <= c_on
                                      AND (d_on + interval '12 months')::date > c_on),
            'sustained', count(*) FILTER (WHERE (d_on + interval '12 months')::date <= c_on)
        )
        FROM remission
    )
)
"""

REPORT_SQL = {
    "census": CENSUS_SQL,
    "retention": RETENTION_SQL,
    "visits": VISITS_SQL,
    "outcomes": OUTCOMES_SQL,
}


# --- Comparing the API's numbers with the SQL's. ---

# The fields that identify an item of a list, so that lists compare item by item whatever their order.
LIST_KEYS = (("month", "visit_type"), ("clinician",), ("instrument",), ("day",))


def _differences(api: Any, sql: Any, where: str, unchecked: set[str]) -> list[str]:
    """Where `sql` (the hand-written statement's JSON) and `api` disagree; what the API has and the SQL does
    not compute (names, echoed parameters) is added to `unchecked` instead."""
    if isinstance(sql, dict) and isinstance(api, dict):
        found = []
        for key in sorted(set(api) | set(sql)):
            if key not in sql:
                unchecked.add(re.sub(r"\[[^]]*\]", "[]", f"{where}.{key}"))
            elif key not in api:
                found.append(f"{where}.{key}: missing from the API (SQL: {sql[key]!r})")
            else:
                found += _differences(api[key], sql[key], f"{where}.{key}", unchecked)
        return found
    if isinstance(sql, list) and isinstance(api, list):
        key = next(
            (k for k in LIST_KEYS if all(isinstance(i, dict) and set(k) <= set(i) for i in api + sql)), None
        )
        if key is None:
            if len(api) != len(sql):
                return [f"{where}: {len(api)} items from the API, {len(sql)} from SQL"]
            pairs = [(f"{where}[{n}]", a, s) for n, (a, s) in enumerate(zip(api, sql, strict=True))]
        else:
            by_api = {tuple(str(i[k]) for k in key): i for i in api}
            by_sql = {tuple(str(i[k]) for k in key): i for i in sql}
            only = [f"{where}[{'/'.join(k)}]: only from the API" for k in sorted(set(by_api) - set(by_sql))]
            only += [f"{where}[{'/'.join(k)}]: only from SQL" for k in sorted(set(by_sql) - set(by_api))]
            pairs = [
                (f"{where}[{'/'.join(k)}]", by_api[k], by_sql[k]) for k in sorted(set(by_api) & set(by_sql))
            ]
            if only:
                return only + [d for p in pairs for d in _differences(p[1], p[2], p[0], unchecked)]
        return [d for label, a, s in pairs for d in _differences(a, s, label, unchecked)]
    numbers = (int, float)
    if isinstance(api, numbers) and isinstance(sql, numbers) and not isinstance(api, bool):
        return [] if abs(api - sql) < 1e-9 else [f"{where}: API {api!r}, SQL {sql!r}"]
    return [] if api == sql else [f"{where}: API {api!r}, SQL {sql!r}"]


# --- Timing. ---


def _timed(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def _medians(api: Any, sql: Any) -> tuple[float, float, Any, Any]:
    """One warm-up of each (connection, caches, plans), then RUNS timed runs of each, taking turns so that a
    burst of other work on the machine slows both alike: the medians, and what the last runs returned."""
    api_result, sql_result = api(), sql()
    api_times, sql_times = [], []
    for _ in range(RUNS):
        seconds, api_result = _timed(api)
        api_times.append(seconds)
        seconds, sql_result = _timed(sql)
        sql_times.append(seconds)
    return statistics.median(api_times), statistics.median(sql_times), api_result, sql_result


def _explain(client: Any, path: str) -> None:
    """EXPLAIN ANALYZE of the queries the API runs for `path` that take 10 ms or more, as Django sent them,
    replayed in order in one transaction (so that settings the report makes for its transaction apply)."""
    from django.db import connection, transaction

    executed: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        client.get(path)
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in executed:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # the audit event's insert and the like
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = [line for (line,) in cursor.fetchall()]
            took = float(plan[-1].split()[-2]) if plan[-1].startswith("Execution Time") else 0.0
            if took >= 10:
                print(f"\n  {' '.join(sql.split())[:300]}...")
                print("\n".join(f"    {line}" for line in plan))
        transaction.set_rollback(True)


def _report_settings() -> str | None:
    """The statement that sets PostgreSQL up for a report's transaction (JIT, work_mem, page costs), if the
    reports have one: the hand-written SQL runs with the same, so that the ratio compares the queries, not the
    settings."""
    try:
        from cases.reports.expressions import REPORT_SETTINGS
    except ImportError:
        return None
    return str(REPORT_SETTINGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--explain",
        action="store_true",
        help="EXPLAIN ANALYZE the API's queries of a report that misses the aim",
    )
    args = parser.parse_args()
    env = _environment()
    build = _ensure_database(env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    sys.path.insert(0, str(ROOT))
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files are not collected here
    django.setup()
    import psycopg
    from django.test import Client

    from clinic.models import User

    end = dt.date.fromisoformat(build["seeded_on"])
    start = (end.replace(day=1) - dt.timedelta(days=335)).replace(day=1)  # twelve calendar months up to `end`
    admin = User.objects.get(username="admin")
    client = Client()
    client.force_login(admin)
    clinician = User.objects.get(username="clinician")  # the filtered cross-check: one clinician's figures
    sql_connection = psycopg.connect(env["DATABASE_URL"], autocommit=True)

    def api(name: str, query: str) -> dict[str, Any]:
        response = client.get(f"/api/v1/reports/{name}/?{query}")
        if response.status_code != 200:
            raise SystemExit(
                f"GET /api/v1/reports/{name}/?{query}: {response.status_code} {response.content[:300]!r}"
            )
        return dict(response.json())

    settings = _report_settings()

    def sql(name: str, params: dict[str, Any]) -> dict[str, Any]:
        with sql_connection.transaction(), sql_connection.cursor() as cursor:
            if settings:
                cursor.execute(settings)
            cursor.execute(REPORT_SQL[name], params)
            row = cursor.fetchone()
        assert row is not None
        return dict(row[0])

    print(
        f"reports from {start} to {end}, as {admin.username}; median of {RUNS} runs after a warm-up; the SQL "
        f"{'with the settings the reports run with' if settings else 'with the server settings'}",
        flush=True,
    )
    lines, misses, mismatches = [], [], []
    unchecked: set[str] = set()
    for name in REPORT_SQL:
        query = f"start={start}&end={end}"
        params = {"start": start, "end": end, "clinician": None}
        api_seconds, sql_seconds, api_data, sql_data = _medians(
            lambda: api(name, query),  # noqa: B023 - called right here
            lambda: sql(name, params),  # noqa: B023
        )
        ratio = api_seconds / sql_seconds
        lines.append(f"{name} api={api_seconds:.2f}s sql={sql_seconds:.2f}s ratio={ratio:.1f}")
        print(lines[-1], flush=True)
        if api_seconds > AIM_SECONDS or ratio > AIM_RATIO:
            misses.append(name)
        mismatches += _differences(api_data, sql_data, name, unchecked)
        # The same report for one clinician (not timed): the filter's meaning cross-checked too.
        filtered = {**params, "clinician": clinician.pk}
        label = f"{name}(clinician={clinician.username})"
        mismatches += _differences(
            api(name, f"{query}&clinician={clinician.pk}"), sql(name, filtered), label, set()
        )
    print(_dataset_line(env["DATABASE_URL"], build))
    if misses:
        print(
            f"over the aim (under {AIM_SECONDS:.0f}s and within {AIM_RATIO:.0f}x of the SQL): {', '.join(misses)}"
        )
        if args.explain:
            for name in misses:
                print(f"\nEXPLAIN ANALYZE of the {name} report's queries:")
                _explain(client, f"/api/v1/reports/{name}/?start={start}&end={end}")
        else:
            print("(run with --explain for the plans of their queries)")
    if unchecked:
        print(f"not cross-checked (the SQL does not compute them): {', '.join(sorted(unchecked))}")
    if mismatches:
        print(f"\n{len(mismatches)} MISMATCHES between the API and the hand-written SQL:", file=sys.stderr)
        for line in mismatches:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(1)
    print("the API's numbers equal the hand-written SQL's (unfiltered and for one clinician)")


if __name__ == "__main__":
    main()
