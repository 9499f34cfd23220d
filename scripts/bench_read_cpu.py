"""The app's CPU per request of the hot reads (not wall time: the database's own work is left out).

Through Django's test client (routing, middleware, knox token authentication, serialization; no network), as the
demo clinician, on the database of DATABASE_URL (a demo clinic: `manage.py seed_demo --patients 300 --force`, or
the `make load` database). After a warm-up, each read runs BENCH_CPU_RUNS times (default 50) and the script prints
`time.process_time()` per request (this process's CPU: Django, DRF, psycopg; not PostgreSQL's), the queries per
request and the length of the longest SQL statement (psycopg 3 caches the parsing of statements up to
`psycopg._queries.MAX_CACHED_STATEMENT_LENGTH` characters only). BENCH_CPU_ROUNDS (default 3) repeats the whole
measure and keeps each read's lowest figure, the least disturbed by a busy machine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_load python scripts/bench_read_cpu.py
"""

import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_CPU_RUNS", "50"))
ROUNDS = int(os.environ.get("BENCH_CPU_ROUNDS", "3"))


def _environment() -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-key-not-secret-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "MFA_REQUIRED_ROLES": "",
        "LOG_LEVEL": "ERROR",  # no access-log line per request on the terminal
        "API_RATE_USER": "1000000/min",  # many requests a second from one user: not what is measured
        **{k: v for k, v in os.environ.items() if k in ("DATABASE_URL",)},
    }


def _measure(client, path: str) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    from django.db import connection

    for _ in range(5):  # warm-up: connection, caches
        assert client.get(path).status_code == 200, path
    executed: list[str] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    started = time.process_time()
    for _ in range(RUNS):
        client.get(path)
    cpu = (time.process_time() - started) * 1000 / RUNS
    return cpu, len(executed), max(len(sql) for sql in executed)


def main() -> None:
    os.environ.update(_environment())
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    sys.path.insert(0, str(ROOT))
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files are not collected here
    django.setup()
    from django.db import connection
    from django.test import Client
    from knox.models import AuthToken

    from cases.models import Case, Patient
    from clinic.models import User

    clinician = User.objects.get(username="clinician")
    case = Case.objects.filter(primary_clinician=clinician).order_by("opened_on", "id").first()
    if case is None:
        raise SystemExit(
            "no case of the demo clinician: seed the demo clinic (seed_demo --patients 300 --force)"
        )
    instance, token = AuthToken.objects.create(clinician)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    rows = [
        ("case detail", f"/api/v1/cases/{case.id}/"),
        ("case list (first page)", "/api/v1/cases/"),
        ("patient list (first page)", "/api/v1/patients/"),
    ]
    try:
        best: dict[str, tuple[float, int, int]] = {}
        for _ in range(ROUNDS):
            for label, path in rows:
                figure = _measure(client, path)
                if label not in best or figure[0] < best[label][0]:
                    best[label] = figure
    finally:
        instance.delete()
    load = os.getloadavg()[0]
    print(
        f"{Patient.objects.count()} patients, {connection.vendor}, as the demo clinician (knox token); "
        f"{RUNS} requests x {ROUNDS} rounds, lowest round; load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'request':<30} {'CPU/request':>12} {'queries':>8} {'longest SQL':>12}")
    for label, _path in rows:
        cpu, queries, longest = best[label]
        print(f"{label:<30} {cpu:>10.1f}ms {queries:>8} {longest:>10} ch")


if __name__ == "__main__":
    main()
