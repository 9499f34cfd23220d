"""Small cohorts built by hand for the report tests: a case with exactly the stage history asked for, scores,
visits and screens at exact clinic-local moments. Rows are written directly (not through the services) so that
any past history can be laid down; each satisfies the database's constraints."""

import datetime as dt
from typing import Any

from django.db import connection
from django.utils import timezone

from cases.instruments import score_responses
from cases.models import Assessment, Case, DrugScreen, Patient, StageTransition, Visit
from clinic.models import User
from tests.factories import CaseFactory, PatientFactory, responses_totalling

Moment = dt.date | dt.datetime

# The queries each report runs whatever the data size (visits: one statement), plus `SET LOCAL jit = off` on
# PostgreSQL (cases.reports.expressions.in_one_transaction).
# PostgreSQL's census and retention read their rollup in one statement each (cases/census_rollup.py), the outcomes'
# stays and screens, scores and remission too (one each).
QUERIES = {
    "census": 1 if connection.vendor == "postgresql" else 3,
    "retention": 1 if connection.vendor == "postgresql" else 2,  # from the census rollup: one
    "visits": 1,
    "outcomes": 3 if connection.vendor == "postgresql" else 4,  # its stays and screens from the rollup: one
}
SETUP_QUERIES = 1 if connection.vendor == "postgresql" else 0


def local(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A clinic-local (America/Chicago) moment on `day`."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_default_timezone())


def _moment(when: Moment) -> dt.datetime:
    return when if isinstance(when, dt.datetime) else local(when)


def episode(
    opened_on: dt.date,
    *moves: tuple[str, Moment],
    patient: Patient | None = None,
    primary: User | None = None,
    care_team: list[User] | None = None,
    discharge_reason: str = Case.DischargeReason.COMPLETED,
) -> Case:
    """A case opened on `opened_on` (its intake row at local midnight, as `case_open` back-dates it) that then
    moved to each `(stage, when)` in turn (a date means local noon). Moving to `discharged` closes it on that
    clinic date with `discharge_reason`."""
    discharged = bool(moves) and moves[-1][0] == Case.Stage.DISCHARGED
    closed_on = timezone.localdate(_moment(moves[-1][1])) if discharged else None
    case: Case = CaseFactory(
        patient=patient or PatientFactory(),
        opened_on=opened_on,
        primary_clinician=primary,
        care_team=care_team,
        stage=moves[-1][0] if moves else Case.Stage.INTAKE,
        status=Case.Status.CLOSED if discharged else Case.Status.OPEN,
        closed_on=closed_on,
        discharge_reason=discharge_reason if discharged else None,
        version=1 + len(moves),
    )
    previous = Case.Stage.INTAKE
    for sequence, (stage, when) in enumerate(moves, start=2):
        StageTransition.objects.create(
            case=case,
            sequence=sequence,
            from_stage=previous,
            to_stage=stage,
            effective_at=_moment(when),
            reason="",
            discharge_reason=discharge_reason if stage == Case.Stage.DISCHARGED else None,
        )
        previous = stage
    return case


def closed_case(opened_on: dt.date, closed_on: dt.date, **fields: Any) -> Case:
    """A case discharged straight from intake on `closed_on` (a stay of closed_on - opened_on days)."""
    return episode(opened_on, (Case.Stage.DISCHARGED, closed_on), **fields)


def checklist(**met: bool) -> dict[str, bool]:
    """A complete DSM-5 checklist meeting the named criteria (and the supervision box if named)."""
    return responses_totalling("dsm5_sud", 0) | met


MET = checklist(cut_down=True, tolerance=True, withdrawal=True, craving=True)  # moderate (4)
CRAVING_ONLY = checklist(craving=True)  # none (1)


def score(
    case: Case,
    instrument: str,
    at: Moment,
    *,
    total: int | None = None,
    responses: dict[str, Any] | None = None,
    by: User,
    entered_in_error: bool = False,
    recorded_at: dt.datetime | None = None,
) -> Assessment:
    """An assessment of `instrument` totalling `total` (or with these `responses`), scored by the registry."""
    clean, result = score_responses(
        instrument, responses if responses is not None else responses_totalling(instrument, total or 0)
    )
    assessment = Assessment.objects.create(
        case=case,
        instrument=instrument,
        responses=clean,
        total=result.total,
        band=result.band,
        administered_at=_moment(at),
        by=by,
        entered_in_error=entered_in_error,
        entered_in_error_reason="Wrong patient." if entered_in_error else "",
    )
    if recorded_at is not None:
        Assessment.objects.filter(pk=assessment.pk).update(recorded_at=recorded_at)
    return assessment


def visit(case: Case, clinician: User, at: dt.datetime, status: str, visit_type: str) -> Visit:
    return Visit.objects.create(
        case=case, clinician=clinician, scheduled_at=at, status=status, visit_type=visit_type
    )


def screen(case: Case, collected_on: dt.date, mitragynine: str, *, by: User) -> DrugScreen:
    return DrugScreen.objects.create(
        case=case, collected_on=collected_on, mitragynine=mitragynine, created_by=by
    )
