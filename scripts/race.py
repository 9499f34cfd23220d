"""Race harness, big runs: every pair of writes on one case (tests/concurrency/harness.py), RACE_ROUNDS times
(default 36: 28 pairs x 36 = 1,008 races), on PostgreSQL; prints the statuses, 5xx/exceptions, deadlocks and
acknowledged writes missing their audit event. Exits non-zero if any of those is not zero.

Uses RACE_DATABASE_URL (default: the `audit_race` database on the local server, created and migrated if missing;
each run adds a fresh case). To run it against another version of the code, put that checkout first:

    python scripts/race.py
    PYTHONPATH=/path/to/other/checkout RACE_DATABASE_URL=postgres://.../audit_race_old python scripts/race.py
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/audit_race"
ROUNDS = int(os.environ.get("RACE_ROUNDS", "36"))


def _prepare() -> None:
    url = os.environ.get("RACE_DATABASE_URL", DEFAULT_URL)
    name, server = url.rsplit("/", 1)[1], url.rsplit("/", 1)[0] + "/postgres"
    exists = subprocess.run(
        ["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    os.environ.update(
        DATABASE_URL=url,
        DEBUG="false",
        SECRET_KEY="race-only-key-not-secret-0123456789abcdefghijklmnopq",  # noqa: S106 - a throwaway run
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
        API_RATE_USER="1000000/min",
        MFA_REQUIRED_ROLES="",  # signs in by force_login: no authenticator to confirm
        DJANGO_SETTINGS_MODULE="clinic.settings",
    )
    sys.path.insert(0, str(ROOT))
    if os.environ.get("PYTHONPATH"):  # another checkout under comparison comes first
        sys.path[:0] = os.environ["PYTHONPATH"].split(os.pathsep)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def main() -> int:
    _prepare()
    import logging

    logging.disable(logging.WARNING)  # the 4xx of lost races are expected; the tally counts them
    import clinic.audit
    from tests.concurrency.harness import PAIRS, build_world, missing_audit_events, run_races

    print(f"audit code: {clinic.audit.__file__}")
    world = build_world()
    started = time.perf_counter()
    tally = run_races(world, ROUNDS)
    elapsed = time.perf_counter() - started
    missing = missing_audit_events(tally)
    print(f"races: {tally.races} ({len(PAIRS)} pairs x {ROUNDS}) in {elapsed:.1f} s")
    print(f"statuses: {dict(sorted(tally.statuses.items()))}  (0 = the request raised)")
    print(f"5xx or exceptions: {len(tally.failures)}, of which deadlocks: {tally.deadlocks}")
    print(f"acknowledged writes: {len(tally.acknowledged)}, missing their audit event: {len(missing)}")
    for failure in tally.failures[:5]:
        print(f"  e.g. {failure[:200]}")
    return 1 if tally.failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
