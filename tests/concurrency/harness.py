"""The race harness: pairs of writes on one case and one patient, fired at the same instant from two threads with
their own database connections, through the API (routing, policy, services, audit). Used by the PostgreSQL test
(`test_races.py`, a CI-sized run) and by `scripts/race.py` (as many rounds as you like).

A race's outcome is each request's status and request id. What must hold (`check`): no 5xx and no exception
(a deadlock would surface as one), and every write answered 2xx has its audit event, found by its request id."""

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case, Visit
from clinic.models import AuditEvent, User

V1 = "/api/v1"
WRITE_ACTIONS = ("create", "update", "transition")


@dataclass
class World:
    """One case (in treatment) of one patient, its visit, and the supervisor who writes (every capability)."""

    supervisor: User
    clinician: User
    case: Case
    visit: Visit


def build_world() -> World:
    from tests.factories import UserFactory, VisitFactory, case_in_stage

    supervisor = UserFactory(roles=["supervisor"])
    clinician = UserFactory(roles=["clinician"])
    case = case_in_stage("treatment", actor=supervisor, primary_clinician=clinician)
    visit = VisitFactory(case=case, clinician=clinician, scheduled_at=timezone.now())
    return World(supervisor=supervisor, clinician=clinician, case=case, visit=visit)


Request = tuple[str, str, dict[str, Any]]


def _transition(world: World, n: int) -> Request:
    stage = Case.objects.values_list("stage", flat=True).get(pk=world.case.pk)
    body = {"to_stage": "treatment", "reason": "Relapse"} if stage == "recovery" else {"to_stage": "recovery"}
    return "post", f"{V1}/cases/{world.case.pk}/transition/", body


def _assign(world: World, n: int) -> Request:
    team = [str(world.clinician.pk)] if n % 2 else []
    return (
        "patch",
        f"{V1}/cases/{world.case.pk}/",
        {"primary_clinician": str(world.clinician.pk), "care_team": team},
    )


def _visit_create(world: World, n: int) -> Request:
    return "post", f"{V1}/visits/", {
        "case": str(world.case.pk), "clinician": str(world.clinician.pk), "visit_type": "individual_counseling",
        "scheduled_at": (timezone.localtime() + dt.timedelta(days=1, minutes=n)).isoformat(),
        "confirm_conflicts": True,  # minutes apart, they overlap: booked anyway, so that the inserts race
    }  # fmt: skip


def _visit_update(world: World, n: int) -> Request:
    return (
        "patch",
        f"{V1}/visits/{world.visit.pk}/",
        {"status": "attended", "subjective": f"Note {n}.", "craving": n % 10},
    )


def _assessment(world: World, n: int) -> Request:
    return "post", f"{V1}/assessments/", {
        "case": str(world.case.pk), "instrument": "gad7", "responses": {f"q{i}": n % 4 for i in range(1, 8)},
    }  # fmt: skip


def _screen(world: World, n: int) -> Request:
    # Positive for fentanyl: raises (or finds already open) the urgent alert, so alert inserts race too.
    return "post", f"{V1}/drug-screens/", {
        "case": str(world.case.pk), "collected_on": timezone.localdate().isoformat(),
        "results": {"mitragynine": "positive", "fentanyl": "positive"},
    }  # fmt: skip


def _panel(world: World, n: int) -> Request:
    return "post", f"{V1}/liver-panels/", {
        "case": str(world.case.pk), "collected_on": timezone.localdate().isoformat(), "alt": 60 + n % 400,
        "alt_uln": 40, "ast": 30, "ast_uln": 40, "alp": 100, "alp_uln": 120, "total_bilirubin": 1.0,
        "total_bilirubin_uln": 1.2,
    }  # fmt: skip


OPERATIONS: dict[str, Callable[[World, int], Request]] = {
    "transition": _transition,
    "assign": _assign,
    "visit_create": _visit_create,
    "visit_update": _visit_update,
    "assessment": _assessment,
    "screen": _screen,
    "panel": _panel,
}
PAIRS = list(itertools.combinations_with_replacement(OPERATIONS, 2))


@dataclass
class Tally:
    races: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # 5xx, exceptions, deadlocks: must stay empty
    acknowledged: list[str] = field(default_factory=list)  # request ids of the 2xx writes

    @property
    def deadlocks(self) -> int:
        return sum("deadlock" in failure.lower() for failure in self.failures)


def run_races(world: World, rounds: int, tally: Tally | None = None) -> Tally:
    """Every pair of operations, `rounds` times: two threads (kept for the whole run, one connection each) wait
    at a barrier, then send their request at once."""
    tally = tally or Tally()
    plan = [pair for _ in range(rounds) for pair in PAIRS]
    barrier = threading.Barrier(2, timeout=60)
    requests: list[list[Request | None]] = [[None, None] for _ in plan]
    lock = threading.Lock()

    def racer(side: int) -> None:
        client = APIClient()
        client.force_authenticate(user=User.objects.get(pk=world.supervisor.pk))
        try:
            for index, pair in enumerate(plan):
                requests[index][side] = OPERATIONS[pair[side]](world, index * 2 + side)
                barrier.wait()
                method, url, body = requests[index][side]  # type: ignore[misc]
                try:
                    response = getattr(client, method)(url, body, format="json")
                    outcome = (response.status_code, response.get("X-Request-ID", ""))
                except Exception as exc:
                    outcome = (0, f"{pair[side]} vs {pair[1 - side]}: {type(exc).__name__}: {exc}")
                with lock:
                    status, detail = outcome
                    tally.statuses[status] += 1
                    if status == 0 or status >= 500:
                        tally.failures.append(detail if status == 0 else f"{pair[side]}: HTTP {status}")
                    elif 200 <= status < 300:
                        tally.acknowledged.append(detail)
                barrier.wait()  # both done before the next race is prepared
        finally:
            connection.close()

    threads = [threading.Thread(target=racer, args=(side,)) for side in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.races += len(plan)
    return tally


def missing_audit_events(tally: Tally) -> list[str]:
    """Request ids of acknowledged writes with no write event in the audit trail."""
    audited = set(
        AuditEvent.objects.filter(request_id__in=tally.acknowledged, action__in=WRITE_ACTIONS).values_list(
            "request_id", flat=True
        )
    )
    return [request_id for request_id in tally.acknowledged if request_id not in audited]
