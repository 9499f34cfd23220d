"""`make freeze`: one gunicorn worker frozen mid-transaction (SIGSTOP) must not stall the others (issue 13).

Before the lock-free audit, every audited request held one advisory lock until it committed, so a worker frozen
while holding it stopped every request of the clinic, `/healthz` included, until gunicorn killed the workers.
This script, on the `make load` database and server (scripts/load.py: gunicorn with LOAD_WORKERS, 2, threaded
workers of FREEZE_THREADS, 4, threads, as in production, on PostgreSQL on loopback, production's database timeouts):

1. sends, each on a new connection and in a thread of its own (open loop: a request that hangs does not hold
   back the next), five requests a second of each kind: a visit posted by front desk on one of 200 open cases
   across the clinic for its primary clinician (FREEZE_WRITES=hot: by the demo clinician on their own cases, so
   every write needs the row of their calendar), a read of a case or of the patient list (the demo clinician),
   and `/healthz`;
2. after 3 s, freezes (SIGSTOP) a worker whose PostgreSQL backend is inside a write that holds row locks at that
   moment
   (`pg_stat_activity.xact_start`, found by the connection name scripts/load_gunicorn.py gives each worker),
   checked again once it is stopped;
3. keeps the clients running for FREEZE_SECONDS (15, under gunicorn's 30 s worker timeout), then resumes the
   worker and lets the clients run 3 s more;

and prints, for the requests sent while the worker was frozen: how many were answered within the window (per
kind, with p50 / p95 / slowest; the ones the frozen worker had accepted wait for it), how many `/healthz` probes
were answered within 2 s, what became of the frozen worker's backend (the idle-in-transaction timeout ends its
transaction and releases its locks), and the non-2xx answers by status. It fails if the other worker stalled:
no write or no read answered while frozen, or fewer than 80% of the probes answered within 2 s.

    python scripts/freeze.py; FREEZE_WRITES=hot python scripts/freeze.py
"""

import datetime as dt
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import PORT, ROOT, _environment, _prepare, _psql, _start_server

HOT = os.environ.get("FREEZE_WRITES", "spread") == "hot"
RATES = {"write": 5.0, "read": 5.0, "health": 5.0}  # requests per second of each kind
THREADS = os.environ.get("FREEZE_THREADS", "4")
FROZEN_SECONDS = float(os.environ.get("FREEZE_SECONDS", "15"))


class Log:
    """What each client saw: (kind, started, finished, status); status 0 for a connection error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: list[tuple[str, float, float, int]] = []

    def add(self, kind: str, started: float, status: int) -> None:
        with self.lock:
            self.rows.append((kind, started, time.monotonic(), status))


def _request(kind: str, rng: random.Random, setup: dict[str, Any], log: Log) -> None:
    """One request on a new connection, as the proxy in front of gunicorn makes them (deploy/nginx): a kept-alive
    connection would stay with the worker that accepted it, frozen or not."""
    case, token = rng.choice(setup["cases"]), setup["token"]
    body = None
    if kind == "health":
        method, path = "GET", "/healthz"
    elif kind == "read":
        method, path = "GET", rng.choice([f"/api/v1/cases/{case}/", "/api/v1/patients/"])
    else:
        token, case, clinician = rng.choice(setup["writes"])
        ahead = dt.timedelta(days=1 + rng.randrange(300), minutes=rng.randrange(600))
        visit = {
            "case": case,
            "clinician": clinician,
            "visit_type": "individual_counseling",
            "scheduled_at": (dt.datetime.now(dt.UTC) + ahead).isoformat(),
            "confirm_conflicts": True,
        }
        method, path, body = "POST", "/api/v1/visits/", json.dumps(visit)
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Connection": "close",
    }
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = 0
    finally:
        connection.close()
    log.add(kind, started, status)


def _arrivals(kind: str, every: float, setup: dict[str, Any], log: Log, stop: threading.Event) -> None:
    """Open loop: a request of `kind` every `every` seconds, each in a thread of its own, so one that hangs in
    the frozen worker does not hold back the next (staff at other desks do not wait for each other)."""
    rng = random.Random(kind)  # noqa: S311 - picking test cases, not secrets
    while not stop.is_set():
        threading.Thread(target=_request, args=(kind, rng, setup, log), daemon=True).start()
        time.sleep(every)


def _in_transaction(url: str, *, locking: bool) -> list[tuple[int, int, str]]:
    """(worker pid, backend pid, state) of each worker whose backend is inside a transaction now; `locking`: one
    that has locked rows for update (a write: `SELECT ... FOR UPDATE` holds RowShareLock on the table)."""
    holding = (
        " AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.mode = 'RowShareLock' AND l.granted)"
        if locking
        else ""
    )
    out = _psql(
        url,
        "SELECT application_name, pid, state FROM pg_stat_activity a "
        "WHERE application_name LIKE 'load-%' AND xact_start IS NOT NULL" + holding,
    )
    rows = []
    for line in out.splitlines():
        name, backend, state = line.split("|")
        rows.append((int(name.removeprefix("load-")), int(backend), state))
    return rows


def _freeze(url: str) -> tuple[int, int, str]:
    """SIGSTOP a worker caught inside a write that holds row locks (any transaction if none is caught within
    20 s); (worker pid, backend pid, state once stopped)."""
    began = time.monotonic()
    while time.monotonic() < began + 30:
        locking = time.monotonic() < began + 20
        for worker, _backend, _ in _in_transaction(url, locking=locking):
            os.kill(worker, signal.SIGSTOP)
            still = [row for row in _in_transaction(url, locking=locking) if row[0] == worker]
            if still:
                return still[0]
            os.kill(worker, signal.SIGCONT)  # it committed before it stopped: try again
        time.sleep(0.01)
    raise SystemExit("no worker was caught inside a transaction within 30 s")


def _summary(rows: list[tuple[str, float, float, int]], kind: str) -> str:
    waits = sorted(
        (finished - started) * 1000 for k, started, finished, status in rows if k == kind and status
    )
    if not waits:
        return f"{kind:6} none answered"
    p95 = waits[max(int(len(waits) * 0.95) - 1, 0)]
    return (
        f"{kind:6} {len(waits):4} answered  p50={statistics.median(waits):7.1f} ms  p95={p95:7.1f} ms  "
        f"slowest={waits[-1]:7.1f} ms"
    )


def _spread(env: dict[str, str]) -> list[list[str]]:
    """Front desk's token, with (case, primary clinician) of 200 open cases across the clinic."""
    code = (
        "import json\n"
        "from knox.models import AuthToken\n"
        "from cases.models import Case\n"
        "from clinic.models import User\n"
        "_, token = AuthToken.objects.create(User.objects.get(username='frontdesk'))\n"
        "cases = Case.objects.filter(status='open', primary_clinician__isnull=False)\n"
        "rows = [[token, str(c), str(d)] for c, d in cases.values_list('pk', 'primary_clinician')[:200]]\n"
        "print(json.dumps(rows))\n"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return list(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    env = _environment()
    url = env["DATABASE_URL"]
    setup = _prepare(env)
    if HOT:
        setup["writes"] = [[setup["token"], case, setup["clinician"]] for case in setup["cases"]]
    else:
        setup["writes"] = _spread(env)
    print(
        "writes: " + ("the demo clinician's, each locking their calendar row" if HOT else
                      f"front desk's, on {len(setup['writes'])} open cases across the clinic"),
        flush=True,
    )  # fmt: skip
    # Production's worker model (deploy/gunicorn.conf.py): threaded workers, so one request waiting on a lock
    # holds a thread, not the whole worker.
    server = _start_server(env, audit=True, extra=("--worker-class", "gthread", "--threads", THREADS))
    log, stop = Log(), threading.Event()
    threads = [
        threading.Thread(target=_arrivals, args=(kind, 1 / rate, setup, log, stop))
        for kind, rate in RATES.items()
    ]
    frozen = None
    try:
        for thread in threads:
            thread.start()
        time.sleep(3)
        calm = time.monotonic()
        worker, backend, state = _freeze(url)
        frozen = worker
        began = time.monotonic()
        locks = _psql(
            url,
            "SELECT string_agg(DISTINCT c.relname, ', ') FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            f"WHERE l.pid = {backend} AND l.mode = 'RowShareLock' AND c.relkind = 'r'",
        )
        print(
            f"froze worker {worker}: its backend {backend} is {state!r} inside a transaction"
            f"{f', holding rows of {locks} for update' if locks else ''}",
            flush=True,
        )
        time.sleep(FROZEN_SECONDS)
        ended = time.monotonic()
        after = _psql(
            url,
            f"SELECT coalesce(state, '') || ' ' || (xact_start IS NOT NULL) FROM pg_stat_activity WHERE pid = {backend}",
        )
        os.kill(worker, signal.SIGCONT)
        frozen = None
        time.sleep(3)
    finally:
        stop.set()
        if frozen:
            os.kill(frozen, signal.SIGCONT)
        for thread in threads:
            thread.join(timeout=90)
        time.sleep(1)  # the last requests' answers
        server.terminate()
        server.wait(timeout=30)
    if os.environ.get("FREEZE_TRACE"):
        for kind, started, finished, status in sorted(log.rows, key=lambda row: row[1]):
            print(f"  {kind:6} {started - began:+7.2f} s {(finished - started) * 1000:8.1f} ms {status}")
    print("requests sent in the 3 s before (all workers running), for comparison:")
    for kind in ("write", "read", "health"):
        print(
            "          " + _summary([row for row in log.rows if calm - 3 <= row[1] < calm and row[3]], kind)
        )
    window = [row for row in log.rows if began <= row[1] < ended]
    print(f"requests sent while the worker was frozen ({FROZEN_SECONDS:g} s), answered within it:")
    for kind in ("write", "read", "health"):
        sent = [row for row in window if row[0] == kind]
        answered = [row for row in sent if row[2] <= ended and row[3]]
        print(f"  {len(answered):3} of {len(sent):3}  " + _summary(answered, kind))
    probes = [row for row in window if row[0] == "health"]
    quick = [row for row in probes if row[3] == 200 and row[2] - row[1] <= 2]
    print(f"  /healthz answered 200 within 2 s: {len(quick)} of {len(probes)}")
    statuses = Counter(status for _, _, _, status in log.rows if not 200 <= status < 300)
    print(f"frozen worker's backend after {FROZEN_SECONDS:g} s: {after or 'gone (its session was ended)'}")
    print(
        f"not 2xx over the whole run (0 = no answer): {dict(statuses) or 'none'} of {len(log.rows)} requests"
    )
    done = Counter(kind for kind, _, finished, status in window if finished <= ended and 200 <= status < 300)
    if not done["write"] or not done["read"] or len(quick) < 0.8 * len(probes):
        raise SystemExit("the other worker stalled while one was frozen")


if __name__ == "__main__":
    main()
