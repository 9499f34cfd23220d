"""Simultaneous stage changes through the API (SPEC 3.3): exactly one wins (201), every other request gets 409
(not 400, not 500), and the history gains exactly one row. Real threads, real connections: PostgreSQL only.

A request's "starting point" is the case version it was made against. A client that read the case sends that
`version` with the transition, so a request that arrives after another change committed is still answered 409
(the first test). Without it, the server checks the version it reads when the request arrives; the second test
holds every request at that point until all have read the case, so that they race on the row lock itself.
"""

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.views.cases import CaseViewSet
from cases.models import Case, StageTransition
from clinic.models import User
from tests.factories import CaseFactory

# For the threaded tests: committed data that every thread's connection sees. serialized_rollback: the flush after
# a transactional test would otherwise wipe the role groups that a data migration created.
committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

N = 6


def fire_together(
    user: User, url: str, bodies: list[dict[str, Any]], barrier: threading.Barrier | None = None
):
    """POST each body from its own thread with its own client, released at once. With `barrier` given, the
    caller has placed it inside the request instead (see the second test). Returns (status, json) per body."""
    start = barrier or threading.Barrier(len(bodies))
    results: list[Any] = [None] * len(bodies)

    def work(index: int, body: dict[str, Any]) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user=User.objects.get(pk=user.pk))
            if barrier is None:
                start.wait(timeout=30)
            response = client.post(url, body, format="json")
            results[index] = (response.status_code, response.json())
        except BaseException as exc:  # reported by the assertions below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not [r for r in results if isinstance(r, BaseException)], results
    return results


def history(case: Case) -> list[tuple[int, str | None, str]]:
    return list(
        StageTransition.objects.filter(case=case)
        .order_by("sequence")
        .values_list("sequence", "from_stage", "to_stage")
    )


def assert_one_winner(results: list[tuple[int, Any]], case: Case) -> tuple[int, Any]:
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: N - 1}, results
    for status, body in results:
        if status == 409:  # refused for the stale version, not for the stage it finds
            assert body["detail"].startswith("The case was changed by someone else"), body
    return next(result for result in results if result[0] == 201)


@pytest.mark.postgres
@committed
def test_the_same_transition_sent_at_once_with_the_version_read_one_wins_the_rest_409(supervisor):
    case = CaseFactory()
    url = f"/api/v1/cases/{case.pk}/transition/"

    results = fire_together(supervisor, url, [{"to_stage": "assessment", "version": 1}] * N)

    _, winner = assert_one_winner(results, case)
    assert winner["stage"] == "assessment"
    assert history(case) == [(1, None, "intake"), (2, "intake", "assessment")]
    case.refresh_from_db()
    assert (case.stage, case.version) == ("assessment", 2)


@pytest.mark.postgres
@committed
def test_different_transitions_at_once_one_wins_and_the_chain_stays_clean(supervisor):
    """Half discharge the case, half move it on: whichever lands first holds; nothing else is written."""
    case = CaseFactory()
    url = f"/api/v1/cases/{case.pk}/transition/"
    discharge = {"to_stage": "discharged", "discharge_reason": "left_against_advice", "version": 1}
    move_on = {"to_stage": "assessment", "version": 1}

    results = fire_together(supervisor, url, [discharge, move_on] * (N // 2))

    _, winner = assert_one_winner(results, case)
    rows = history(case)
    assert rows == [(1, None, "intake"), (2, "intake", winner["stage"])]
    case.refresh_from_db()
    assert (case.stage, case.version) == (winner["stage"], 2)
    assert (case.status == Case.Status.CLOSED) == (winner["stage"] == "discharged")


@pytest.mark.postgres
@committed
def test_requests_that_read_the_case_together_race_on_the_row_lock_one_wins_the_rest_409(supervisor):
    """No `version` in the body: each request loads the case, and only once all have loaded it (v1) do they
    go on to the service, which serializes them on the row lock and refuses every stale one."""
    case = CaseFactory()
    url = f"/api/v1/cases/{case.pk}/transition/"
    loaded = threading.Barrier(N)
    original: Callable[[CaseViewSet], Case] = CaseViewSet.get_object

    def get_object_then_wait(view: CaseViewSet) -> Case:
        obj = original(view)
        loaded.wait(timeout=30)
        return obj

    with mock.patch.object(CaseViewSet, "get_object", get_object_then_wait):
        results = fire_together(supervisor, url, [{"to_stage": "assessment"}] * N, barrier=loaded)

    assert_one_winner(results, case)
    assert history(case) == [(1, None, "intake"), (2, "intake", "assessment")]


# The same rule without threads, on every database.


def test_a_stale_version_is_a_409_and_writes_nothing(supervisor):
    case = CaseFactory()
    client = APIClient()
    client.force_authenticate(user=supervisor)
    url = f"/api/v1/cases/{case.pk}/transition/"
    assert client.post(url, {"to_stage": "assessment", "version": 1}, format="json").status_code == 201

    stale = client.post(url, {"to_stage": "treatment", "version": 1}, format="json")

    assert stale.status_code == 409, stale.content
    assert "detail" in stale.json()
    assert history(case) == [(1, None, "intake"), (2, "intake", "assessment")]
    case.refresh_from_db()
    assert (case.stage, case.version) == ("assessment", 2)


def test_a_transition_of_an_unknown_case_is_a_404(supervisor):
    client = APIClient()
    client.force_authenticate(user=supervisor)
    response = client.post(
        f"/api/v1/cases/{uuid.uuid4()}/transition/", {"to_stage": "assessment"}, format="json"
    )
    assert response.status_code == 404
