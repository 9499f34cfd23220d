"""Staff acting on the same record at once (SPEC 3.3): exactly one wins, the others get a conflict, and the
history stays one clean chain. Real threads, real connections, real row locks: PostgreSQL only."""

import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from cases.errors import ConcurrentChange, NoteLocked, OpenCaseExists
from cases.models import Case, Patient, StageTransition, Visit
from cases.services.cases import case_open
from cases.services.stages import case_transition
from cases.services.visits import visit_sign
from tests.factories import AttendedVisitFactory, PatientFactory, case_in_stage

# serialized_rollback: the flush after a transactional test would otherwise wipe the role groups that a data
# migration created, and the next test's users would have no roles.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

N = 6


def run_together(workers: list[tuple[Callable[[], Any], Callable[[Any], Any]]]) -> list[Any]:
    """Run each `(load, act)` pair in its own thread: every thread loads first, then all act at once.
    Returns what each `act` returned or raised, in order."""
    barrier = threading.Barrier(len(workers))
    outcomes: list[Any] = [None] * len(workers)

    def work(index: int, load: Callable[[], Any], act: Callable[[Any], Any]) -> None:
        try:
            loaded = load()
            barrier.wait(timeout=30)
            outcomes[index] = act(loaded)
        except BaseException as exc:  # the outcome under test, or a failure to report
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, *pair)) for i, pair in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return outcomes


def history(case: Case) -> list[tuple]:
    return list(
        StageTransition.objects.filter(case=case)
        .order_by("sequence")
        .values_list("sequence", "from_stage", "to_stage")
    )


def assert_one_clean_chain(rows: list[tuple]) -> None:
    assert [sequence for sequence, _, _ in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1:] == (None, "intake")
    for (_, _, previous_to), (_, from_stage, _) in itertools.pairwise(rows):
        assert from_stage == previous_to


def test_the_database_really_is_postgresql():
    assert connection.vendor == "postgresql"


def test_concurrent_identical_moves_one_wins_the_rest_get_concurrent_change(clinician):
    case = case_in_stage(Case.Stage.TREATMENT, actor=clinician, primary_clinician=clinician)
    before = history(case)

    def load() -> Case:
        return Case.objects.get(pk=case.pk)

    def act(loaded: Case) -> StageTransition:
        assert loaded.version == 3
        return case_transition(case=loaded, to_stage=Case.Stage.RECOVERY, actor=clinician)

    outcomes = run_together([(load, act)] * N)

    winners = [o for o in outcomes if isinstance(o, StageTransition)]
    losers = [o for o in outcomes if not isinstance(o, StageTransition)]
    assert len(winners) == 1
    assert all(type(o) is ConcurrentChange for o in losers), losers
    assert len(losers) == N - 1
    stored = Case.objects.get(pk=case.pk)
    assert (stored.stage, stored.status, stored.version) == ("recovery", "open", 4)
    rows = history(case)
    assert rows == [*before, (len(before) + 1, "treatment", "recovery")]
    assert_one_clean_chain(rows)


def test_concurrent_recovery_and_discharge_one_wins_the_rest_get_concurrent_change(
    clinician, other_clinician
):
    case = case_in_stage(Case.Stage.TREATMENT, actor=clinician, primary_clinician=clinician)
    before = history(case)

    def load() -> Case:
        return Case.objects.get(pk=case.pk)

    def to_recovery(loaded: Case) -> StageTransition:
        return case_transition(case=loaded, to_stage=Case.Stage.RECOVERY, actor=clinician)

    def to_discharged(loaded: Case) -> StageTransition:
        return case_transition(
            case=loaded,
            to_stage=Case.Stage.DISCHARGED,
            actor=other_clinician,
            discharge_reason=Case.DischargeReason.LEFT_AGAINST_ADVICE,
        )

    outcomes = run_together([(load, to_recovery), (load, to_discharged)] * (N // 2))

    winners = [o for o in outcomes if isinstance(o, StageTransition)]
    losers = [o for o in outcomes if not isinstance(o, StageTransition)]
    assert len(winners) == 1
    assert all(type(o) is ConcurrentChange for o in losers), losers
    assert len(losers) == N - 1
    won = winners[0]
    stored = Case.objects.get(pk=case.pk)
    assert stored.stage == won.to_stage
    assert stored.version == 4
    if won.to_stage == Case.Stage.DISCHARGED:
        assert (stored.status, stored.discharge_reason, stored.closed_on) == (
            "closed",
            "left_against_advice",
            timezone.localdate(won.effective_at),
        )
    else:
        assert (stored.status, stored.discharge_reason, stored.closed_on) == ("open", None, None)
    rows = history(case)
    assert rows == [*before, (len(before) + 1, "treatment", won.to_stage)]
    assert_one_clean_chain(rows)


def test_concurrent_case_openings_leave_one_open_case(front_desk):
    patient = PatientFactory()

    def load() -> Patient:
        return Patient.objects.get(pk=patient.pk)

    def act(loaded: Patient) -> Case:
        return case_open(patient=loaded, actor=front_desk, referral_source="self")

    outcomes = run_together([(load, act)] * N)

    opened = [o for o in outcomes if isinstance(o, Case)]
    refused = [o for o in outcomes if not isinstance(o, Case)]
    assert len(opened) == 1
    assert all(type(o) is OpenCaseExists for o in refused), refused
    assert len(refused) == N - 1
    assert list(Case.objects.filter(patient=patient).values_list("pk", "status")) == [(opened[0].pk, "open")]
    assert history(opened[0]) == [(1, None, "intake")]
    assert StageTransition.objects.filter(case__patient=patient).count() == 1


def test_concurrent_signatures_one_signs_the_rest_find_the_note_locked(clinician, supervisor):
    visit = AttendedVisitFactory(clinician=clinician)
    signers = [clinician, supervisor] * (N // 2)

    def load() -> Visit:
        return Visit.objects.get(pk=visit.pk)

    outcomes = run_together(
        [(load, lambda loaded, signer=signer: visit_sign(visit=loaded, actor=signer)) for signer in signers]
    )

    signed = [o for o in outcomes if isinstance(o, Visit)]
    refused = [o for o in outcomes if not isinstance(o, Visit)]
    assert len(signed) == 1
    assert all(type(o) is NoteLocked for o in refused), refused
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.signed_by == signed[0].signed_by
    assert stored.signed_at == signed[0].signed_at
