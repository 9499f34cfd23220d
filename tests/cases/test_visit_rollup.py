"""The visits report's rollup (cases/rollups.py): on PostgreSQL the whole clinic's report sums the rollup, which
database triggers keep current; it must give exactly the figures counted from the visits themselves, after every
kind of write (schedule, attendance, reschedule into another month, change of clinician, deletion, a bulk update,
a patient entered in error), settled or not. On SQLite there is no rollup and both paths are the count."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cases.models import Patient, Visit, VisitCount
from cases.reports import ReportParams, visits, visits_report
from cases.reports.params import clinic_today
from cases.rollups import has_rollups, rebuild_visit_counts, settle_visit_counts, visit_count_differences
from cases.services.visits import visit_record_attendance, visit_schedule, visit_update
from clinic.roles import Role
from tests.factories import PatientFactory, UserFactory
from tests.report_builders import episode, local, visit

D = dt.date
Status = Visit.Status
Type = Visit.VisitType
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup is PostgreSQL's")

# Whole months, partial months at either end, part of one month, one clinic day, across a month's end.
RANGES = [
    (D(2025, 1, 1), D(2025, 3, 31)),
    (D(2025, 1, 15), D(2025, 3, 10)),
    (D(2024, 12, 31), D(2025, 4, 1)),
    (D(2025, 2, 3), D(2025, 2, 20)),
    (D(2025, 2, 28), D(2025, 2, 28)),
    (D(2025, 1, 20), D(2025, 2, 10)),
]


@pytest.fixture
def clinic(db):
    ana = UserFactory(username="ana", roles=[Role.CLINICIAN])
    ben = UserFactory(username="ben", roles=[Role.CLINICIAN])
    supervisor = UserFactory(username="sup", roles=[Role.SUPERVISOR])
    ca = episode(D(2024, 11, 1), primary=ana)
    cb = episode(D(2024, 11, 1), primary=ben)
    rows = [
        (ca, ana, local(D(2025, 1, 1), 0, 30), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING),
        (ca, ana, local(D(2025, 1, 14), 9), Status.NO_SHOW, Type.INDIVIDUAL_COUNSELING),
        (ca, ben, local(D(2025, 1, 20), 11), Status.LATE_CANCEL, Type.INDIVIDUAL_COUNSELING),
        (cb, ben, local(D(2025, 2, 3), 9), Status.ATTENDED, Type.INTAKE),
        (cb, ben, local(D(2025, 2, 28), 23, 30), Status.CANCELLED, Type.INTAKE),  # 1 March in UTC
        (cb, ana, local(D(2025, 3, 10), 10), Status.SCHEDULED, Type.GROUP_COUNSELING),
        (ca, ana, local(D(2024, 12, 31), 23, 30), Status.ATTENDED, Type.INDIVIDUAL_COUNSELING),
        (ca, ana, local(D(2025, 4, 1), 0, 10), Status.ATTENDED, Type.TELEHEALTH),
    ]
    made = [visit(*row) for row in rows]
    return {"ana": ana, "ben": ben, "sup": supervisor, "ca": ca, "cb": cb, "visits": made}


def counted_from_visits(monkeypatch, user, report_params):
    """The report as the visits themselves give it (the path SQLite and a clinician's caseload take)."""
    with monkeypatch.context() as patched:
        patched.setattr(visits_report, "has_rollups", lambda: False)
        return visits(user, report_params)


def check_rollup(monkeypatch, clinic, ranges=tuple(RANGES)):
    assert visit_count_differences() == []
    for start, end in ranges:
        for clinician in (None, clinic["ana"], clinic["ben"]):
            report_params = ReportParams(start=start, end=end, clinician=clinician)
            assert visits(clinic["sup"], report_params) == counted_from_visits(
                monkeypatch, clinic["sup"], report_params
            ), (start, end, clinician)


def test_the_rollup_follows_every_kind_of_visit_write(monkeypatch, clinic):
    ana, ben = clinic["ana"], clinic["ben"]
    _first, second, third, fourth, fifth, sixth, *_ = clinic["visits"]
    today = clinic_today()
    around_today = [
        (today.replace(day=1), today),
        (today - dt.timedelta(days=40), today + dt.timedelta(days=40)),
    ]

    def assert_rollup_exact(monkeypatch, clinic):
        check_rollup(monkeypatch, clinic, ranges=[*RANGES, *around_today])

    assert_rollup_exact(monkeypatch, clinic)

    # Today's visits through the attendance rules: recorded, then corrected (with a reason).
    early = visit_schedule(case=clinic["ca"], actor=ana, clinician=ana, visit_type=Type.TELEHEALTH,
                           scheduled_at=local(today, 0, 0))  # fmt: skip
    later = visit_schedule(case=clinic["cb"], actor=ben, clinician=ben, visit_type=Type.INTAKE,
                           scheduled_at=local(today, 23, 59))  # fmt: skip
    visit_record_attendance(visit=early, actor=ana, status=Status.NO_SHOW)
    visit_record_attendance(visit=later, actor=ben, status=Status.ATTENDED)
    assert_rollup_exact(monkeypatch, clinic)
    assert settle_visit_counts() is not None
    assert_rollup_exact(monkeypatch, clinic)

    visit_record_attendance(
        visit=early, actor=ana, status=Status.ATTENDED, reason="Arrived late; checked in."
    )
    visit_record_attendance(visit=later, actor=ben, status=Status.LATE_CANCEL, reason="Wrong patient marked.")
    visit_update(
        visit=sixth, actor=ana, data={"scheduled_at": local(D(2025, 4, 2), 9)}, reason="moved"
    )  # another month
    moved = visit_schedule(case=clinic["cb"], actor=ben, clinician=ben, visit_type=Type.INTAKE,
                           scheduled_at=local(today, 12, 0))  # fmt: skip
    visit_update(  # only a scheduled visit moves
        visit=moved,
        actor=ben,
        data={"scheduled_at": moved.scheduled_at + dt.timedelta(days=35)},
        reason="moved",
    )
    visit_update(visit=fourth, actor=ben, data={"clinician": ana})
    visit_update(visit=second, actor=ana, data={"visit_type": Type.GROUP_COUNSELING})
    assert_rollup_exact(monkeypatch, clinic)

    Visit.objects.filter(pk=fifth.pk).update(status=Status.ATTENDED)  # a data fix outside the service
    Visit.objects.filter(case=clinic["cb"]).update(visit_type=Type.TELEHEALTH)  # a bulk fix
    Visit.objects.filter(pk=third.pk).delete()
    assert_rollup_exact(monkeypatch, clinic)
    settle_visit_counts()
    assert_rollup_exact(monkeypatch, clinic)

    Patient.objects.filter(pk=clinic["ca"].patient_id).update(  # (the service wants the case closed first)
        entered_in_error=True, entered_in_error_reason="Duplicate record."
    )
    assert_rollup_exact(monkeypatch, clinic)
    assert visits(clinic["sup"], ReportParams(start=D(2025, 1, 1), end=D(2025, 3, 31)))["by_clinician"] != []


def test_a_patient_entered_in_error_is_left_out_of_whole_months_too(monkeypatch, clinic):
    hidden = episode(D(2024, 11, 1), primary=clinic["ana"], patient=PatientFactory(
        entered_in_error=True, entered_in_error_reason="Duplicate record."))  # fmt: skip
    visit(hidden, clinic["ana"], local(D(2025, 2, 12), 12), Status.ATTENDED, Type.INTAKE)
    report = visits(clinic["sup"], ReportParams(start=D(2025, 2, 1), end=D(2025, 2, 28)))

    assert [(row["month"], row["visit_type"]) for row in report["rows"]] == [("2025-02", "intake")]
    assert report["rows"][0]["attended"] == 1  # the visit of case cb, not the hidden one
    check_rollup(monkeypatch, clinic)


def test_a_cell_emptied_by_a_reschedule_leaves_no_row(clinic):
    march_group = clinic["visits"][5]
    visit_update(
        visit=march_group, actor=clinic["ana"], data={"scheduled_at": local(D(2025, 4, 9), 9)}, reason="moved"
    )
    report = visits(clinic["sup"], ReportParams(start=D(2025, 3, 1), end=D(2025, 3, 31)))

    assert report == {"rows": [], "by_clinician": []}  # the cell went from 1 to 0: no zero row


@on_postgresql
def test_the_triggers_append_change_rows_and_settling_folds_them(clinic):
    assert has_rollups()
    ana = clinic["ana"]
    today = visit_schedule(case=clinic["ca"], actor=ana, clinician=ana, visit_type=Type.TELEHEALTH,
                           scheduled_at=local(clinic_today(), 0, 0))  # fmt: skip
    settle_visit_counts()
    cells = VisitCount.objects.count()
    assert not VisitCount.objects.filter(settled=False).exists()

    visit_record_attendance(visit=today, actor=ana, status=Status.NO_SHOW)
    changes = VisitCount.objects.filter(settled=False).order_by("visits")
    assert list(changes.values_list("status", "visits")) == [(Status.SCHEDULED, -1), (Status.NO_SHOW, 1)]
    visit_update(visit=clinic["visits"][0], actor=ana, data={"duration_minutes": 30})
    assert changes.count() == 2  # a change that moves no visit between cells appends nothing

    settle_visit_counts()
    assert not VisitCount.objects.filter(settled=False).exists()
    assert VisitCount.objects.count() == cells  # the emptied scheduled cell is gone, a no-show one came
    assert visit_count_differences() == []


@on_postgresql
def test_rebuild_recounts_and_check_names_a_wrong_cell(clinic):
    VisitCount.objects.create(
        day=D(2025, 1, 1), visit_type=Type.INTAKE, clinician_id=clinic["ana"].pk, status=Status.ATTENDED,
        visits=5,
    )  # fmt: skip
    with pytest.raises(CommandError, match="1 cell"):
        call_command("rollup_visits", "--check")

    assert rebuild_visit_counts() == VisitCount.objects.count()
    call_command("rollup_visits", "--check")
    assert visit_count_differences() == []


@on_postgresql
def test_a_bulk_insert_is_counted(monkeypatch, clinic):
    Visit.objects.bulk_create(
        Visit(case=clinic["cb"], clinician=clinic["ben"], scheduled_at=local(D(2025, 1, day), 10),
              status=Status.ATTENDED, visit_type=Type.LAB_ONLY)
        for day in range(2, 30)
    )  # fmt: skip
    lab_days = VisitCount.objects.filter(settled=False, visit_type=Type.LAB_ONLY)
    assert sorted(lab_days.values_list("day", "visits")) == [(D(2025, 1, day), 1) for day in range(2, 30)]
    check_rollup(monkeypatch, clinic)


def test_rollup_visits_command_runs_on_either_database(clinic, capsys):
    call_command("rollup_visits")
    call_command("rollup_visits", "--check")
    out = capsys.readouterr().out
    assert ("agree" in out) if has_rollups() else ("No rollups" in out)
