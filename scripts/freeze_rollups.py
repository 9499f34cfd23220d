"""Freeze the rollups' SQL for a migration: `python scripts/freeze_rollups.py 0027` writes
cases/migrations/_frozen_rollups_0027.py, the SQL of cases/rollups.py, census_rollup.py and score_rollup.py as
they are now, every template filled in, with the steps of `rebuild_census` as plain functions over a cursor. A
migration that installs or rebuilds a rollup imports that module instead of the live code (docs/reports.md, "The
rollups' migrations run frozen SQL"; tests/cases/test_frozen_migrations.py refuses a migration importing live
code).

The steps below follow the live `rebuild_census` (census_rollup.py) and `rebuild_scores` / `rebuild_remission`
(score_rollup.py) as of 2026-12-04: when those gain a step (a new kind of fact with its own table, say), add it
here before freezing, and compare the result with `manage.py rollup_visits --check` after migrating.
"""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")

HEADER = '''"""The rollups' SQL as migration {number} runs it, frozen on {day} (main at {commit}) from cases/rollups.py,
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

'''

FUNCTIONS = '''

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
'''


def literal(name: str, sql: str) -> str:
    sql = sql.strip("\n")
    if '"""' in sql or "\\" in sql:
        raise SystemExit(f"{name}: cannot be written as a plain triple-quoted string")
    return f'{name} = """\n{sql}\n"""\n'


def constants() -> str:
    import django

    django.setup()
    from cases import census_rollup as census
    from cases import rollups as visits
    from cases import score_rollup as scores

    every = "SELECT id FROM cases_patient"
    census_facts = (
        "INSERT INTO cases_censusfact (patient_id, kind, day, key, clinician_id, n)\nSELECT * FROM ("
        + census.facts_sql(every).strip("\n")
        + "\n) f"
    )
    census_counts = (
        "INSERT INTO cases_censuscount (kind, day, key, clinician_id, n) "
        "SELECT kind, day, key, clinician_id, sum(n) FROM cases_censusfact GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0"
    )
    improved = scores.improved_sql("instrument", scores.WHOLE_FIRST, scores.WHOLE_LATEST).replace(
        " OR ", "\n    OR "
    )
    score_rebuild = scores.REBUILD_SQL.format(
        facts=scores.facts_sql(every), first=scores.WHOLE_FIRST, latest=scores.WHOLE_LATEST, improved=improved
    )
    remission_rebuild = scores.REMISSION_REBUILD_SQL.format(
        facts=scores.remission_facts_sql(every).replace(" OR ", "\n               OR ")
    )
    parts = [
        literal("CLINIC_ZONE_SQL", visits.CLINIC_ZONE_SQL),
        literal("CLINIC_DAY_FUNCTION_SQL", visits.MONTH_FUNCTION_SQL),
        literal("VISIT_TRIGGERS_SQL", visits.TRIGGERS_SQL),
        literal("VISIT_DROP_SQL", visits.DROP_SQL),
        literal("VISIT_COUNT_ALL_SQL", visits.COUNT_ALL_SQL),
        f"CENSUS_RECOUNT_LOCK = {census.RECOUNT_LOCK:#x}\n",
        literal("CENSUS_TRIGGERS_SQL", census.TRIGGERS_SQL),
        literal("CENSUS_DROP_SQL", census.DROP_SQL),
        literal("CENSUS_FACTS_SQL", census_facts),
        literal("CENSUS_COUNTS_SQL", census_counts),
        literal("SCORE_TABLES_SQL", scores.TABLES_SQL),
        literal("SCORE_DROP_TABLES_SQL", scores.DROP_TABLES_SQL),
        literal("SCORE_TRIGGERS_SQL", scores.TRIGGERS_SQL),
        literal("SCORE_DROP_TRIGGERS_SQL", scores.DROP_TRIGGERS_SQL),
        literal("SCORE_REBUILD_SQL", score_rebuild),
        literal("REMISSION_TABLE_SQL", scores.REMISSION_TABLE_SQL),
        literal("REMISSION_DROP_TABLE_SQL", scores.DROP_REMISSION_TABLE_SQL),
        literal("REMISSION_REBUILD_SQL", remission_rebuild),
    ]
    return "\n\n".join(parts)


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        raise SystemExit(
            "usage: python scripts/freeze_rollups.py NNNN  (the number of the migration that uses it)"
        )
    number = sys.argv[1]
    target = ROOT / "cases" / "migrations" / f"_frozen_rollups_{number}.py"
    if target.exists():
        raise SystemExit(f"{target} exists: a frozen module is never rewritten")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    header = HEADER.format(number=number, day=dt.datetime.now(dt.UTC).date().isoformat(), commit=commit)
    target.write_text(header + constants() + FUNCTIONS)
    print(f"Wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
