"""Which rows a report covers: the access policy's scope for `Capability.REPORTS` (administrators and supervisors
the whole clinic, a clinician their caseload), narrowed by the report's clinician filter."""

from typing import TypeVar

from django.db.models import Model, QuerySet

from cases.models import Case, Patient, Visit
from cases.reports.params import ReportParams
from clinic.models import User
from clinic.policy import Capability, Scope, cases_in_scope, scope

Record = TypeVar("Record", bound=Model)


def scoped_cases(user: User) -> QuerySet[Case]:
    """Cases in the user's report scope: all the cases of the patients in it (the scope is per patient)."""
    if scope(user, Capability.REPORTS) is Scope.ALL:
        # `cases_in_scope` for the whole clinic (every case but those of patients entered in error), written as
        # an anti-join over the few patients entered in error: the database then reads no patient row per case.
        # tests/cases/test_reports.py checks that the two agree.
        return Case.objects.exclude(patient__in=Patient.objects.filter(entered_in_error=True))
    return cases_in_scope(user, Capability.REPORTS)


def report_cases(user: User, params: ReportParams) -> QuerySet[Case]:
    """Cases in the user's report scope; with a clinician filter, those whose primary clinician it names (for a
    clinician naming a colleague: the cases of their own caseload that the colleague is primary on)."""
    cases = scoped_cases(user)
    if params.clinician is not None:
        cases = cases.filter(primary_clinician=params.clinician)
    return cases


def on_report_cases(records: QuerySet[Record], user: User, params: ReportParams) -> QuerySet[Record]:
    """Rows of the clinical record (assessments, urine screens, stage changes: anything with a `case`) on the
    cases `report_cases` covers, filtered without a join for the whole clinic (the rows keep their index order)."""
    if scope(user, Capability.REPORTS) is Scope.ALL:
        records = records.exclude(case__in=Case.objects.filter(patient__entered_in_error=True))
    else:
        records = records.filter(case__in=cases_in_scope(user, Capability.REPORTS))
    if params.clinician is not None:
        records = records.filter(case__primary_clinician=params.clinician)
    return records


def report_visits(user: User, params: ReportParams) -> QuerySet[Visit]:
    """Visits of the cases in the user's report scope; with a clinician filter, those the clinician held (the
    clinician filter applies to the visit, not to the case's primary clinician)."""
    visits = on_report_cases(Visit.objects.all(), user, ReportParams(start=params.start, end=params.end))
    if params.clinician is not None:
        visits = visits.filter(clinician=params.clinician)
    return visits
