"""`make load`: a bounded load test on loopback. gunicorn (LOAD_WORKERS sync workers, 2) serves the app on
PostgreSQL (LOAD_DATABASE_URL, default the `clinic_load` database on the local server: created, migrated and
seeded with LOAD_PATIENTS demo patients, 300, once); client threads on the same machine send requests as the
demo clinician (a knox token) for LOAD_SECONDS (10) at each concurrency of LOAD_CONCURRENCY (1,4,16):

- reads: GET a case of the clinician's caseload, then the first page of patients, in turn;
- writes: POST a visit on one of those cases (a day or more ahead; `confirm_conflicts`, so overlaps are booked);

and prints req/s, p50 and p95 per kind and concurrency, and the non-2xx count. It runs everything twice: with
the audit as it is, then with the audit's INSERT skipped (gunicorn's `post_worker_init` hook of scripts/load_no_audit.py
replaces `AuditEvent.save` in the workers: a load test's switch, not a setting the app has), and prints the
audit-on / audit-off ratio of req/s for each. Client and server share the machine's cores, so the figures are
the machine's, not the app's alone. Each run adds visits to the database (LOAD_DATABASE_URL is a scratch one).

    python scripts/load.py
"""

import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_load"
PATIENTS = int(os.environ.get("LOAD_PATIENTS", "300"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "2"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "10"))
CONCURRENCY = [int(n) for n in os.environ.get("LOAD_CONCURRENCY", "1,4,16").split(",")]
PORT = int(os.environ.get("LOAD_PORT", "8765"))


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL),
        "DEBUG": "false",
        "SECRET_KEY": "load-only-key-not-secret-0123456789abcdefghijklmnopq",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "API_RATE_USER": "1000000/min",
        "MFA_REQUIRED_ROLES": "",  # a token made here, no authenticator to confirm
        "LOG_LEVEL": "WARNING",
    }


def _psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def _prepare(env: dict[str, str]) -> dict[str, Any]:
    """The database (once), then a token for the demo clinician and the open cases of their caseload."""
    url = env["DATABASE_URL"]
    name, server = url.rsplit("/", 1)[1], url.rsplit("/", 1)[0] + "/postgres"
    if not _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    python = [sys.executable, "manage.py"]
    subprocess.run([*python, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    if int(_psql(url, "SELECT count(*) FROM cases_patient")) == 0:
        print(f"seeding {PATIENTS} patients into {name} (once)...", flush=True)
        subprocess.run(
            [*python, "seed_demo", "--patients", str(PATIENTS), "--force"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(["psql", url, "-qc", "ANALYZE"], check=True)
    code = (
        "import json\n"
        "from knox.models import AuthToken\n"
        "from cases.models import Case\n"
        "from clinic.models import User\n"
        "user = User.objects.get(username='clinician')\n"
        "_, token = AuthToken.objects.create(user)\n"
        "cases = Case.objects.filter(primary_clinician=user, status='open').values_list('pk', flat=True)[:50]\n"
        "print(json.dumps({'token': token, 'clinician': str(user.pk), 'cases': [str(c) for c in cases]}))\n"
    )
    out = subprocess.run(
        [*python, "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _start_server(env: dict[str, str], *, audit: bool) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "clinic.wsgi", "-b", f"127.0.0.1:{PORT}",
        "-w", str(WORKERS), "--log-level", "warning",
    ]  # fmt: skip
    if not audit:
        command += ["-c", str(ROOT / "scripts" / "load_no_audit.py")]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _run(kind: str, clients: int, setup: dict[str, Any]) -> dict[str, Any]:
    """`clients` threads sending `kind` requests for SECONDS; latencies in ms and the non-2xx count."""
    headers = {"Authorization": f"Token {setup['token']}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - picking test cases, not secrets
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        mine: list[float] = []
        failed = 0
        n = 0
        while time.monotonic() < stop:
            case = rng.choice(setup["cases"])
            if kind == "read":
                method, body = "GET", None
                path = f"/api/v1/cases/{case}/" if n % 2 == 0 else "/api/v1/patients/"
            else:
                ahead = dt.timedelta(days=1 + rng.randrange(300), minutes=rng.randrange(600))
                visit = {
                    "case": case,
                    "clinician": setup["clinician"],
                    "visit_type": "individual_counseling",
                    "scheduled_at": (dt.datetime.now(dt.UTC) + ahead).isoformat(),
                    "confirm_conflicts": True,
                }
                method, path, body = "POST", "/api/v1/visits/", json.dumps(visit)
            n += 1
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                ok = False
            mine.append((time.perf_counter() - started) * 1000)
            failed += not ok
        with lock:
            latencies.extend(mine)
            failures[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": latencies[max(int(len(latencies) * 0.95) - 1, 0)] if latencies else 0.0,
        "requests": len(latencies),
        "failures": failures[0],
    }


def main() -> None:
    env = _environment()
    setup = _prepare(env)
    if not setup["cases"]:
        raise SystemExit("the demo clinician has no open cases to load")
    print(
        f"gunicorn: {WORKERS} sync workers on 127.0.0.1:{PORT}; {SECONDS:g} s per level; "
        f"{len(setup['cases'])} cases of the demo clinician",
        flush=True,
    )
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    for audit in (True, False):
        server = _start_server(env, audit=audit)
        try:
            _run("read", 2, setup)  # warm-up: connections, caches
            for kind in ("read", "write"):
                for clients in CONCURRENCY:
                    figures = _run(kind, clients, setup)
                    mode = "on" if audit else "off"
                    results[(mode, kind, clients)] = figures
                    print(
                        f"audit {mode:3} {kind:5} clients={clients:<3} {figures['rps']:7.1f} req/s  "
                        f"p50={figures['p50']:6.1f} ms  p95={figures['p95']:6.1f} ms  "
                        f"({figures['requests']} requests, {figures['failures']} not 2xx)",
                        flush=True,
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
    for kind in ("read", "write"):
        for clients in CONCURRENCY:
            on, off = results[("on", kind, clients)]["rps"], results[("off", kind, clients)]["rps"]
            print(f"audit on/off {kind:5} clients={clients:<3} {on / off if off else 0:.2f}")
    if any(figures["failures"] for figures in results.values()):
        raise SystemExit("some requests were not answered 2xx")


if __name__ == "__main__":
    main()
