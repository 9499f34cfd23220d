"""The outcomes report beside the hand-written SQL of scripts/bench_reports.py (PostgreSQL): the same numbers
through the API, on the small cohort whose every figure tests/cases/test_reports.py states, whole clinic and
for one clinician. The benchmark runs the same comparison at network scale (`make bench-reports`)."""

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.cases.test_reports import OUTCOMES_RANGE, outcome_cohort, staff  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL=postgres://..."
)

_spec = importlib.util.spec_from_file_location(
    "bench_reports", Path(__file__).resolve().parents[2] / "scripts" / "bench_reports.py"
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def by_hand(name: str, start: dt.date, end: dt.date, clinician: object = None) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(bench.REPORT_SQL[name], {"start": start, "end": end, "clinician": clinician})
        (found,) = cursor.fetchone()
    return json.loads(found) if isinstance(found, str) else found


def through_the_api(user, name: str, start: dt.date, end: dt.date, clinician: object = None) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    query = {"start": start.isoformat(), "end": end.isoformat(), "deidentified": "false"}
    if clinician is not None:
        query["clinician"] = str(clinician)
    response = client.get(f"/api/v1/reports/{name}/", query)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("end", [OUTCOMES_RANGE[1], dt.date(2025, 3, 31), dt.date(2026, 1, 31)])
def test_the_outcomes_report_agrees_with_the_hand_written_sql(staff, outcome_cohort, end):  # noqa: F811
    start = OUTCOMES_RANGE[0]
    api = through_the_api(staff.supervisor, "outcomes", start, end)
    sql = by_hand("outcomes", start, end)

    assert bench._differences(api, sql, "outcomes", set()) == []
    assert api["remission"] == sql["remission"]


def test_the_outcomes_report_for_one_clinician_agrees_with_the_sql(staff, outcome_cohort):  # noqa: F811
    api = through_the_api(staff.supervisor, "outcomes", *OUTCOMES_RANGE, clinician=staff.ana.pk)
    sql = by_hand("outcomes", *OUTCOMES_RANGE, clinician=staff.ana.pk)

    assert bench._differences(api, sql, "outcomes", set()) == []
    assert sql["remission"] == {"early": 3, "sustained": 4}
