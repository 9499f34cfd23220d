"""`make bench`: times the API's hot reads on PostgreSQL with 10,000 demo patients, in-process.

Seeds BENCH_DATABASE_URL (default: the `clinic_bench` database on the local server) once with
`seed_demo --patients 10000`; later runs reuse it. Then, through Django's test client (real URL routing,
middleware, authentication, serialization; no network), measures each request BENCH_RUNS times after a warm-up
and prints the median and p95 time and the SQL queries per request:

- the patient list, a page of 50, with a search (as a supervisor, who sees every patient),
- a case detail with its stage history (as that case's primary clinician),
- the visit list of one case (as the same clinician).

    python scripts/bench_api.py
"""

import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "200"))


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-key-not-secret-0123456789abcdefghijklmnop",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "MFA_REQUIRED_ROLES": "",  # a bench signs in by force_login: no authenticator to confirm
        "API_RATE_USER": "1000000/min",  # hundreds of requests a second from one user: not what is measured
    }


def _ensure_database(env: dict[str, str]) -> None:
    """Create, migrate and seed the benchmark database unless it already holds the demo clinic."""
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    server = url.rsplit("/", 1)[0] + "/postgres"
    exists = subprocess.run(
        ["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    python = [sys.executable, "manage.py"]
    subprocess.run([*python, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    count = subprocess.run(
        [*python, "shell", "-v", "0", "-c", "from cases.models import Patient; print(Patient.objects.count())"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if int(count or 0) < PATIENTS:
        print(f"seeding {PATIENTS} patients into {name} (once; later runs reuse it)...", flush=True)
        started = time.perf_counter()
        subprocess.run([*python, "seed_demo", "--patients", str(PATIENTS), "--force"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        subprocess.run(["psql", url, "-qc", "ANALYZE"], check=True)
        print(f"seeded in {time.perf_counter() - started:.0f}s", flush=True)


def _measure(client, path: str) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    from django.db import connection

    for _ in range(5):  # warm-up: connection, caches, query plans
        assert client.get(path).status_code == 200, path
    executed: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], len(executed)


def main() -> None:
    env = _environment()
    _ensure_database(env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    sys.path.insert(0, str(ROOT))
    import django

    warnings.filterwarnings("ignore", message="No directory at")  # static files are not collected here
    django.setup()
    from django.test import Client

    from cases.models import Case, Patient
    from clinic.models import User

    supervisor = User.objects.get(username="supervisor")
    case = (
        Case.objects.filter(stage=Case.Stage.TREATMENT, primary_clinician__username="clinician")
        .order_by("opened_on")
        .first()
    )
    if case is None:
        raise SystemExit("no case in treatment for the demo clinician: reseed the benchmark database")
    as_supervisor, as_clinician = Client(), Client()
    as_supervisor.force_login(supervisor)
    as_clinician.force_login(case.primary_clinician)
    term = Patient.objects.order_by("last_name").values_list("last_name", flat=True)[PATIENTS // 2][:3]

    rows = [
        (
            f"patient list (page of 50, ?search={term})",
            as_supervisor,
            f"/api/v1/patients/?search={term}&page_size=50",
        ),
        ("case detail with history", as_clinician, f"/api/v1/cases/{case.id}/"),
        ("visit list of one case", as_clinician, f"/api/v1/visits/?case={case.id}"),
    ]
    print(f"{Patient.objects.count()} patients, {RUNS} runs per request, in-process (Django test client)")
    print(f"{'request':<48} {'median':>9} {'p95':>9} {'queries':>8}")
    for label, client, path in rows:
        median, p95, queries = _measure(client, path)
        print(f"{label:<48} {median:>7.1f}ms {p95:>7.1f}ms {queries:>8}")


if __name__ == "__main__":
    main()
