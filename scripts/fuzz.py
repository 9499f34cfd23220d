"""`make fuzz`: schemathesis against the live OpenAPI schema, as a clinician and as front desk.

Steps: a throwaway database (SQLite in a temporary folder, or FUZZ_DATABASE_URL, which must name an empty
database), migrate, load the demo data (`seed_demo`) and a few patients, cases and visits of the fuzz users
through the domain services, start the app under gunicorn on a free local port, get a token
for each user, run schemathesis as each, stop the server. Exits non-zero on any 5xx or any response that does
not match the schema. Bounded so that it fits in CI: FUZZ_MAX_EXAMPLES examples per operation and phase
(default 25) and FUZZ_MAX_TIME seconds per user (default 120), with a fixed seed (FUZZ_SEED).

    python scripts/fuzz.py            # what `make fuzz` runs
    python scripts/fuzz.py seed FILE  # (internal) seed the database named by the environment, ids to FILE
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "fuzz-password-not-secret-1234"  # noqa: S105 - a throwaway database's throwaway accounts
USERS = {"clinician": "fuzz_clinician", "front_desk": "fuzz_frontdesk"}

# Checks that hold for every response:
# - not_a_server_error: nothing a client sends may cause a 5xx (SPEC section 8);
# - status_code_conformance: every status the API answers with is documented for the operation;
# - content_type_conformance: the body is the documented media type (JSON);
# - response_schema_conformance: the body matches the documented shape, errors included.
# Left out: negative_data_rejection/positive_data_acceptance (the schema cannot express the domain's
# cross-field rules, so "valid by the schema" data is legitimately refused with a 400 and vice versa), and the
# auth-probing checks (ignored_auth, object_level_authorization), which the permission tests cover exactly.
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Logout would revoke the token the rest of the run authenticates with.
EXCLUDED_PATHS = ("/api/v1/auth/logout/",)


def log(message: str) -> None:
    print(f"[fuzz] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True)


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early with code {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local http URL
                if response.status == 200:
                    return
        except (
            urllib.error.URLError,
            ConnectionError,
            TimeoutError,
        ):  # not up yet, or slow on a busy machine
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {timeout:.0f}s")


def obtain_token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(  # noqa: S310 - a local http URL
        f"{base}/api/v1/auth/token/", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return str(json.load(response)["token"])


def schemathesis_config(ids: dict[str, list[str]], max_examples: int) -> str:
    """Real ids from the seeded data, drawn half of the time for ids in paths, bodies and queries, so that
    the fuzzer reaches existing records (and not only 404s for random UUIDs)."""
    dictionaries = {name: values for name, values in ids.items() if values}

    def bind(name: str) -> str:
        return f'{{ dictionary = "{name}", probability = 0.5 }}' if name in dictionaries else ""

    lines = [f"generation.max-examples = {max_examples}", ""]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    for resource, ids_name in (("patients", "patients"), ("cases", "cases"), ("visits", "visits")):
        if bind(ids_name):
            lines += [
                "[[operations]]",
                f'include-path-regex = "^/api/v1/{resource}/\\\\{{id\\\\}}/"',
                f'parameters = {{ "path.id" = {bind(ids_name)} }}',
                "",
            ]
    global_bindings = {
        "body.patient": "patients",
        "body.case": "cases",
        "body.clinician": "clinicians",
        "body.primary_clinician": "clinicians",
        "query.patient": "patients",
        "query.case": "cases",
        "query.clinician": "clinicians",
    }
    pairs = [f'"{key}" = {bind(name)}' for key, name in global_bindings.items() if bind(name)]
    lines[1:1] = ["[parameters]", *pairs, ""]
    return "\n".join(lines)


def run_schemathesis(*, schema_url: str, token: str, config: Path, seed: str, max_time: int) -> int:
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        schema_url,
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--seed",
        seed,
        "--max-time",
        str(max_time),
        "--workers",
        # One worker by default: with two threads, hypothesis parses sources concurrently and CPython 3.11 before
        # 3.11.9 can fail with "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905), an
        # error schemathesis reports as a failed run although the API did nothing wrong.
        os.environ.get("FUZZ_WORKERS", "1"),
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "--output-truncate",
        "true",
        "--generation-database",
        "none",  # every run starts afresh from the seed; nothing is written into the work tree
    ]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    return subprocess.run(command, cwd=config.parent, check=False).returncode


def seed() -> dict[str, list[str]]:
    """Users for the fuzz run, and patients in every stage with visits, written through the domain services.
    Runs in a child process whose environment names the throwaway database."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from cases.models import Assessment, Case
    from cases.services.cases import case_open
    from cases.services.patients import patient_register
    from cases.services.stages import case_transition
    from cases.services.visits import visit_schedule, visit_sign, visit_update
    from clinic.models import User

    def user(username: str, role: str) -> User:
        account = User.objects.create_user(
            username=username, password=PASSWORD, first_name="Fuzz", last_name=role.replace("_", " ").title()
        )
        account.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=account.pk)  # fresh, so that `roles` sees the group

    clinician = user(USERS["clinician"], "clinician")
    front_desk = user(USERS["front_desk"], "front_desk")
    supervisor = user("fuzz_supervisor", "supervisor")
    other = user("fuzz_other_clinician", "clinician")
    today = timezone.localdate()
    walk = ["assessment", "treatment", "recovery", "discharged"]
    patients, cases, visits = [], [], []
    for number, stage in enumerate(
        ["intake", "assessment", "treatment", "recovery", "discharged", "treatment"]
    ):
        patient = patient_register(
            actor=front_desk,
            data={
                "first_name": f"Fuzz{number}",
                "last_name": "Patient",
                "date_of_birth": dt.date(1970 + number, 3, 1 + number),
                "sex_at_birth": "female" if number % 2 else "male",
            },
        )
        patients.append(patient)
        case = case_open(
            patient=patient,
            actor=front_desk,
            referral_source="self",
            opened_on=today - dt.timedelta(days=60),
            primary_clinician=other if number == 5 else clinician,
            profile={"kratom_form": "powder", "reasons_for_use": ["pain"]},
        )
        for to_stage in walk[: walk.index(stage) + 1] if stage != "intake" else []:
            if to_stage == "treatment":
                Assessment.objects.create(
                    case=case, instrument="dsm5_sud", responses={"craving": True, "tolerance": True},
                    total=2, band="mild", administered_at=timezone.now() - dt.timedelta(days=1), by=supervisor,
                )  # fmt: skip
            case_transition(
                case=case,
                to_stage=to_stage,
                actor=supervisor,
                reason="Seeded for fuzzing",
                discharge_reason="completed" if to_stage == "discharged" else None,
            )
        cases.append(case)
        if case.status != Case.Status.OPEN:
            continue
        # One visit earlier today (attendance is recorded on the visit's own day) and one a week ahead, staggered
        # by case (close to midnight they may still overlap: the seed confirms such conflicts).
        start_of_day = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
        earlier_today = max(timezone.now() - dt.timedelta(hours=len(cases) + 1), start_of_day)
        for when in (earlier_today, timezone.now() + dt.timedelta(days=7, hours=len(cases))):
            visit = visit_schedule(
                case=case,
                actor=front_desk,
                clinician=case.primary_clinician,
                visit_type="individual_counseling",
                scheduled_at=when,
                confirm_conflicts=True,
            )
            visits.append(visit)
            if when == earlier_today:
                visit_update(
                    visit=visit,
                    actor=supervisor,
                    data={"status": "attended", "subjective": "Seeded note.", "craving": 4},
                )
                if number % 2:
                    visit_sign(visit=visit, actor=supervisor)
    patients.append(patient_register(actor=clinician, data={
        "first_name": "Fuzz", "last_name": "Nocase", "date_of_birth": dt.date(1990, 1, 1), "sex_at_birth": "male",
    }))  # fmt: skip
    return {
        "patients": [str(p.pk) for p in patients],
        "cases": [str(c.pk) for c in cases],
        "visits": [str(v.pk) for v in visits],
        "clinicians": [str(u.pk) for u in (clinician, other, supervisor)],
    }


def print_status_summary(access_log: Path) -> None:
    """Responses per operation by status class, from the server's access log: shows that the run reached real
    records (2xx) as well as refusals (4xx), and no 5xx."""
    uuid = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in access_log.read_text(errors="replace").splitlines():
        method, _, rest = line.partition(" ")
        path, _, status = rest.rpartition(" ")
        if not path.startswith("/api/v1/"):
            continue
        known = re.sub(
            r"^/api/v1/(patients|cases|visits|staff)/[^/]+/", r"/api/v1/\1/{id}/", uuid.sub("/{id}/", path)
        )
        counts[f"{method} {known}"][f"{status[:1]}xx"] += 1
    log("responses per operation (2xx / 4xx / 5xx):")
    for operation, by_class in sorted(counts.items(), key=lambda item: -sum(item[1].values()))[:30]:
        print(f"    {operation:48} {by_class['2xx']:6} {by_class['4xx']:6} {by_class['5xx']:4}", flush=True)


def main() -> int:
    started = time.monotonic()
    max_examples = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
    max_time = int(os.environ.get("FUZZ_MAX_TIME", "120"))
    seed = os.environ.get("FUZZ_SEED", "20260101")
    workdir = Path(tempfile.mkdtemp(prefix="clinic-fuzz-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings_test",
        "DATABASE_URL": os.environ.get("FUZZ_DATABASE_URL") or f"sqlite:///{workdir / 'fuzz.sqlite3'}",
        "LOG_LEVEL": "ERROR",  # 5xx tracebacks only (4xx are expected by the thousand)
        # The fuzzer sends far more than a person: lift the per-user and per-address rates so that it reaches the
        # endpoints (429 is documented, so a throttled answer would still conform); sign-in keeps its own limit.
        "API_RATE_USER": "1000000/min",
        "API_RATE_ANON": "1000000/min",
        "PYTHONUNBUFFERED": "1",
    }
    server: subprocess.Popen[bytes] | None = None
    server_log = workdir / "server.log"
    access_log = workdir / "access.log"
    try:
        log(f"database: {env['DATABASE_URL']}")
        manage(env, "migrate", "--noinput", "-v", "0")
        # A clinic's worth of realistic rows for the lists to return, then the fuzz users' own records.
        subprocess.run(
            [str(BIN / "python"), "manage.py", "seed_demo", "--patients", "30", "--force"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ids_file = workdir / "ids.json"
        subprocess.run([str(BIN / "python"), __file__, "seed", str(ids_file)], cwd=ROOT, env=env, check=True)
        ids = json.loads(ids_file.read_text())
        config = workdir / "schemathesis.toml"
        config.write_text(schemathesis_config(ids, max_examples))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_log.open("wb") as sink:
            server = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "clinic.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    # Let over-long URLs reach the app (which must refuse them itself) rather than gunicorn's 414.
                    "--limit-request-line",
                    "0",
                    "--log-level",
                    "warning",
                    "--access-logfile",
                    str(access_log),
                    "--access-logformat",
                    "%(m)s %(U)s %(s)s",
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(f"{base}/healthz", server)
        log(f"server up on {base}")

        results: dict[str, int] = {}
        for role, username in USERS.items():
            log(f"schemathesis as {role} ({username}): up to {max_examples} examples, {max_time}s")
            token = obtain_token(base, username)
            results[role] = run_schemathesis(
                schema_url=f"{base}/api/schema/", token=token, config=config, seed=seed, max_time=max_time
            )
        print_status_summary(access_log)
        failed = {role: code for role, code in results.items() if code != 0}
        summary = ", ".join(
            f"{role}: {'ok' if code == 0 else f'FAILED ({code})'}" for role, code in results.items()
        )
        log(f"{summary}; {time.monotonic() - started:.0f}s")
        if failed:
            errors = server_log.read_text(errors="replace").strip()
            if errors:
                log("server log (tracebacks of any 5xx):")
                print(errors[-20_000:], flush=True)
        return 1 if failed else 0
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "seed":
        Path(sys.argv[2]).write_text(json.dumps(seed()))
        sys.exit(0)
    sys.exit(main())
