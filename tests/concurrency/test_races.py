"""Pairs of writes on one case and one patient, at the same instant, on PostgreSQL: no 5xx, no deadlock, and every
acknowledged write has its audit event; the trail then seals and verifies. `scripts/race.py` runs more rounds."""

import os

import pytest

from clinic.audit import seal_pending, verify_trail
from tests.concurrency.harness import PAIRS, World, build_world, missing_audit_events, run_races

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROUNDS = int(os.environ.get("RACE_ROUNDS", "8"))  # 28 pairs x 8 = 224 races


@pytest.fixture
def world(settings) -> World:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    return build_world()


def test_every_pair_of_writes_on_one_case_races_without_5xx_deadlock_or_lost_audit(world):
    tally = run_races(world, ROUNDS)

    assert tally.races == len(PAIRS) * ROUNDS
    assert tally.failures == []
    assert tally.deadlocks == 0
    assert tally.acknowledged, tally.statuses
    assert missing_audit_events(tally) == []
    assert seal_pending()
    assert verify_trail() == []
