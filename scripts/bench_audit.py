"""Audit appends per second on PostgreSQL, with 1 and 8 concurrent writers (docs/audit.md).

Each writer is a thread with its own database connection that appends one event per transaction (what a read
request does) as fast as it can for BENCH_SECONDS; the script prints appends/s for each writer count. It migrates
BENCH_AUDIT_DATABASE_URL (default: the `audit_bench` database on the local server, created if missing) and
appends to whatever it holds. To compare with another version of the code, run the same script with that code
first on the import path and its own database:

    python scripts/bench_audit.py
    PYTHONPATH=/path/to/other/checkout BENCH_AUDIT_DATABASE_URL=postgres://.../audit_bench_old \\
        python scripts/bench_audit.py
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/audit_bench"
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
WRITERS = [int(n) for n in os.environ.get("BENCH_WRITERS", "1,8").split(",")]


def _prepare() -> None:
    url = os.environ.get("BENCH_AUDIT_DATABASE_URL", DEFAULT_URL)
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
        SECRET_KEY="bench-only-key-not-secret-0123456789abcdefghijklmnop",  # noqa: S106 - a throwaway bench
        MFA_REQUIRED_ROLES="",  # like the other benches: runs with no extra environment
        DJANGO_SETTINGS_MODULE="clinic.settings",
    )
    sys.path.insert(0, str(ROOT))
    if os.environ.get("PYTHONPATH"):  # another checkout under comparison comes first
        sys.path[:0] = os.environ["PYTHONPATH"].split(os.pathsep)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def _run(writers: int) -> float:
    from django.db import connection, transaction

    import clinic.audit
    from clinic.models import User

    user, _ = User.objects.get_or_create(username="bench-audit")
    user.roles  # noqa: B018 - read once, as a request does before it audits
    counts = [0] * writers
    barrier = threading.Barrier(writers + 1)
    stop = threading.Event()

    def writer(slot: int) -> None:
        try:
            barrier.wait()
            while not stop.is_set():
                with transaction.atomic():
                    clinic.audit.audit_record(user=user, action="view", object_type="patient")
                counts[slot] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(slot,)) for slot in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    _prepare()
    import clinic.audit

    print(f"audit code: {clinic.audit.__file__}")
    for writers in WRITERS:
        print(f"{writers} writer(s): {_run(writers):,.0f} appends/s over {SECONDS:g} s", flush=True)


if __name__ == "__main__":
    main()
