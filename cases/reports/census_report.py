"""The census report (SPEC section 6): open cases as of a date by stage and by primary clinician; admissions,
readmissions and discharges in the range, discharges by reason."""

from typing import Any

from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber

from cases.census_rollup import NO_CLINICIAN, census_cells
from cases.models import Case
from cases.reports.expressions import in_one_transaction, stage_at
from cases.reports.params import ReportParams, day_end
from cases.reports.scope import report_cases, scoped_cases
from cases.rollups import has_rollups
from clinic.models import User
from clinic.policy import Capability, Scope, scope

OPEN_STAGES: tuple[str, ...] = tuple(stage.value for stage in Case.OPEN_STAGES)


@in_one_transaction
def census(user: User, params: ReportParams) -> dict[str, Any]:
    """Census. `as_of` is `end`.

    - `open_by_stage`: cases open at the end of `as_of` (opened on or before it, and not closed or closed after
      it), by their stage at the end of that day, read from the stage history (the latest stage change effective
      by then; a case with none yet counts as `intake`). All four open stages appear, zeros included.
    - `open_by_clinician`: the same open cases by their current primary clinician (`clinician` null: none
      assigned), most first.
    - `admissions`: cases opened in the range (`start` to `end`, both included), readmissions included;
      `readmissions`: those whose patient had an earlier case (opened on an earlier day, or the same day and
      recorded earlier), whoever its primary clinician (the clinician filter does not hide it; the scope is per
      patient, so a patient's earlier cases are always in it).
    - `discharges`: cases closed in the range; `discharges_by_reason`: every discharge reason, zeros included.
    - A case that crosses the range's edges counts where each of its events falls: its admission if it opened
      in the range, its discharge if it closed in the range, neither if both fall outside.
    - Clinician filter: the case's current primary clinician.
    """
    if has_rollups() and scope(user, Capability.REPORTS) is Scope.ALL:
        return _from_rollup(params)
    cases = report_cases(user, params)
    open_at_end = Q(opened_on__lte=params.end) & (Q(closed_on__isnull=True) | Q(closed_on__gt=params.end))
    by_stage = dict(
        cases.filter(open_at_end)
        .annotate(stage_then=stage_at(day_end(params.end)))
        .values("stage_then")
        .annotate(n=Count("pk"))
        .values_list("stage_then", "n")
    )
    by_clinician = (
        cases.filter(open_at_end)
        .values(
            "primary_clinician",
            "primary_clinician__first_name",
            "primary_clinician__last_name",
            "primary_clinician__username",
        )
        .annotate(open=Count("pk"))
        .order_by(
            "-open", "primary_clinician__last_name", "primary_clinician__first_name", "primary_clinician"
        )
    )
    # Every case of the patients in scope numbered among its patient's episodes (the scope is per patient, so each
    # patient's episodes are all there); the clinician filter applies when counting, so that an earlier episode
    # under another clinician still makes a case a readmission.
    counted = Q(primary_clinician=params.clinician) if params.clinician is not None else Q()
    opened = counted & Q(opened_on__range=(params.start, params.end))
    closed = counted & Q(closed_on__range=(params.start, params.end))
    episode = Window(
        RowNumber(),
        partition_by=[F("patient_id")],
        order_by=[F("opened_on").asc(), F("created_at").asc(), F("id").asc()],
    )
    events = (
        scoped_cases(user)
        .annotate(episode=episode)
        .aggregate(
            admissions=Count("pk", filter=opened),
            readmissions=Count("pk", filter=opened & Q(episode__gt=1)),
            discharges=Count("pk", filter=closed),
            **{
                f"reason_{reason}": Count("pk", filter=closed & Q(discharge_reason=reason))
                for reason in Case.DischargeReason.values
            },
        )
    )
    return {
        "as_of": params.end.isoformat(),
        "open_by_stage": {stage: by_stage.get(stage, 0) for stage in OPEN_STAGES},
        "open_by_clinician": [
            {
                "clinician": str(row["primary_clinician"]) if row["primary_clinician"] else None,
                "clinician_name": _full_name(row) if row["primary_clinician"] else "Unassigned",
                "open": row["open"],
            }
            for row in by_clinician
        ],
        "admissions": events["admissions"],
        "readmissions": events["readmissions"],
        "discharges": events["discharges"],
        "discharges_by_reason": {
            reason: events[f"reason_{reason}"] for reason in Case.DischargeReason.values
        },
    }


def _from_rollup(params: ReportParams) -> dict[str, Any]:
    """The same figures for the whole clinic on PostgreSQL, from the census rollup (cases/census_rollup.py: one
    statement, exact, the clinicians' names joined)."""
    clinician = params.clinician.pk if params.clinician is not None else None
    by_stage: dict[str, int] = {}
    open_by: dict[str, int] = {}
    totals: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    staff: dict[str, tuple[str, str, str]] = {}
    for kind, key, clinician_id, n, names in census_cells(params.start, params.end, clinician):
        if kind == "stage":
            by_stage[key] = by_stage.get(key, 0) + n
            open_by[clinician_id] = open_by.get(clinician_id, 0) + n
            if names is not None:
                staff[clinician_id] = names
        else:
            totals[kind] = totals.get(kind, 0) + n
            if kind == "closed":
                by_reason[key] = by_reason.get(key, 0) + n

    def order(
        pair: tuple[str, int],
    ) -> tuple[Any, ...]:  # most first, then last and first name (nulls last), id
        pk, n = pair
        first, last, _ = staff.get(pk, (None, None, None))
        return (-n, last is None, last or "", first is None, first or "", pk)

    admissions = totals.get("opened", 0)
    return {
        "as_of": params.end.isoformat(),
        "open_by_stage": {stage: by_stage.get(stage, 0) for stage in OPEN_STAGES},
        "open_by_clinician": [
            {
                "clinician": None if pk == NO_CLINICIAN else pk,
                "clinician_name": _name(*staff[pk]) if pk in staff else "Unassigned",
                "open": n,
            }
            for pk, n in sorted(((pk, n) for pk, n in open_by.items() if n), key=order)
        ],
        "admissions": admissions,
        "readmissions": admissions - totals.get("first", 0),
        "discharges": totals.get("closed", 0),
        "discharges_by_reason": {reason: by_reason.get(reason, 0) for reason in Case.DischargeReason.values},
    }


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _full_name(row: dict[str, Any]) -> str:
    first, last = row["primary_clinician__first_name"], row["primary_clinician__last_name"]
    return f"{first} {last}".strip() or row["primary_clinician__username"]
