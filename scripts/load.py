"""`make load`: a bounded load test on loopback. gunicorn (LOAD_WORKERS sync workers, 2) serves the app on
PostgreSQL (LOAD_DATABASE_URL, default the `clinic_load` database on the local server: created, migrated and
seeded with LOAD_PATIENTS demo patients, 300, once); client threads on the same machine send requests as the
demo clinician (a knox token) for LOAD_SECONDS (10) at each concurrency of LOAD_CONCURRENCY (1,4,16), for each
kind of LOAD_KINDS (read,write):

- reads: GET a case of the clinician's caseload, then the first page of patients, in turn;
- writes: POST a visit on one of those cases (a day or more ahead; `confirm_conflicts`, so overlaps are booked);

and prints req/s, p50 and p95 per kind and concurrency, the non-2xx count, and the CPU time each request cost:
the gunicorn workers' (`app`) and that of the PostgreSQL backends serving them (`db`), read from /proc before
and after each level (scripts/load_gunicorn.py names each worker's connection, so its backend is found in
`pg_stat_activity`). CPU time is what the request itself consumed, so unlike req/s it hardly moves when other
work shares the machine. It runs everything with the audit as it is, then with the audit's INSERT skipped
(LOAD_AUDIT=off in the workers: a load test's switch, not a setting the app has), LOAD_ROUNDS times (1) in
turn, and prints the audit on/off ratios of the medians: req/s, and CPU per request (the audit's cost: the
issue's aim is under 10%). Client and server share the machine's cores, so req/s is the machine's, not the
app's alone. Each run adds visits to the database (LOAD_DATABASE_URL is a scratch one).

    LOAD_ROUNDS=3 LOAD_KINDS=read LOAD_CONCURRENCY=16 python scripts/load.py
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
KINDS = [kind for kind in os.environ.get("LOAD_KINDS", "read,write").split(",") if kind]
ROUNDS = int(os.environ.get("LOAD_ROUNDS", "1"))
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
        "DB_CONN_MAX_AGE": "3600",  # one backend per worker for the whole run: its CPU time is read from /proc
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


def _start_server(
    env: dict[str, str], *, audit: bool, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """gunicorn on PORT, once it answers /healthz; `extra`: more gunicorn options (scripts/freeze.py's)."""
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "clinic.wsgi", "-b", f"127.0.0.1:{PORT}",
        "-w", str(WORKERS), "--log-level", "warning", "-c", str(ROOT / "scripts" / "load_gunicorn.py"), *extra,
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env={**env, "LOAD_AUDIT": "on" if audit else "off"})
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


TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces): state is [0], ppid [1]."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each live process of `pids` has used so far."""
    seconds = {}
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue  # ended
        seconds[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return seconds


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    """The gunicorn workers: the processes whose parent is the master."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == server.pid:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return pids


def _backends(url: str) -> list[int]:
    """The PostgreSQL backends serving the workers (named by scripts/load_gunicorn.py)."""
    out = _psql(url, "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'load-%'")
    return [int(line) for line in out.split()]


def _used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _measured(
    kind: str, clients: int, setup: dict[str, Any], server: subprocess.Popen[bytes], url: str
) -> dict[str, Any]:
    """`_run`, with the CPU time the workers and their backends spent on it, in ms per request."""
    workers, backends = _workers(server), _backends(url)
    app_before, db_before = _cpu(workers), _cpu(backends)
    figures = _run(kind, clients, setup)
    app = _used(app_before, _cpu(workers))
    db = _used(db_before, _cpu(backends))
    count = max(figures["requests"], 1)
    return {**figures, "app_ms": app * 1000 / count, "db_ms": db * 1000 / count}


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
        f"{len(setup['cases'])} cases of the demo clinician; {ROUNDS} round(s)",
        flush=True,
    )
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for _ in range(ROUNDS):
        for audit in (True, False):
            server = _start_server(env, audit=audit)
            try:
                _run("read", 2, setup)  # warm-up: connections, caches
                for kind in KINDS:
                    for clients in CONCURRENCY:
                        figures = _measured(kind, clients, setup, server, env["DATABASE_URL"])
                        mode = "on" if audit else "off"
                        results.setdefault((mode, kind, clients), []).append(figures)
                        print(
                            f"audit {mode:3} {kind:5} clients={clients:<3} {figures['rps']:7.1f} req/s  "
                            f"p50={figures['p50']:6.1f} ms  p95={figures['p95']:6.1f} ms  "
                            f"cpu/request app={figures['app_ms']:5.1f} ms db={figures['db_ms']:5.1f} ms  "
                            f"({figures['requests']} requests, {figures['failures']} not 2xx)",
                            flush=True,
                        )
            finally:
                server.terminate()
                server.wait(timeout=30)

    def median(mode: str, kind: str, clients: int, figure: str) -> float:
        return statistics.median(run[figure] for run in results[(mode, kind, clients)])

    for kind in KINDS:
        for clients in CONCURRENCY:
            rps = [median(mode, kind, clients, "rps") for mode in ("on", "off")]
            cpu = [
                median(m, kind, clients, "app_ms") + median(m, kind, clients, "db_ms") for m in ("on", "off")
            ]
            print(
                f"audit on/off {kind:5} clients={clients:<3} req/s {rps[0] / rps[1] if rps[1] else 0:.2f}  "
                f"cpu/request {cpu[0]:.1f} ms / {cpu[1]:.1f} ms = {cpu[0] / cpu[1] if cpu[1] else 0:.2f}"
            )
    if any(figures["failures"] for runs in results.values() for figures in runs):
        raise SystemExit("some requests were not answered 2xx")


if __name__ == "__main__":
    main()
