# The two commands a new user needs: `make demo` and `make test`. Each creates .venv and installs on first use.
# Needs only Python 3.11 or newer on PATH.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV := DEBUG=true

.PHONY: install demo test fuzz bench bench-reports bench-release bench-audit bench-audit-patients race load freeze lint typecheck security check-migrations compose-check clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: migrate an embedded SQLite database, load demo data, print the logins, serve on 127.0.0.1:8000
demo: $(STAMP)
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo --if-empty
	$(DEV) $(BIN)/python manage.py raise_alerts
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:8000

## test: the whole suite (SQLite by default; PostgreSQL when DATABASE_URL points there), one worker per core
test: $(STAMP)
	$(BIN)/pytest -n auto

## fuzz: schemathesis against the live API as a clinician and as front desk; fails on any 5xx or schema mismatch
## (a throwaway SQLite database, or FUZZ_DATABASE_URL; about 4 minutes, see scripts/fuzz.py for the knobs)
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy clinic cases api

## security: bandit on the code (settings in pyproject.toml), pip-audit on the installed packages (asks PyPI)
security: $(STAMP)
	$(BIN)/bandit -c pyproject.toml -r clinic cases api -q
	$(BIN)/pip-audit --skip-editable --progress-spinner off

check-migrations: $(STAMP)
	$(DEV) $(BIN)/python manage.py makemigrations --check --dry-run

## compose-check: docker-compose.yml is valid and complete (Debian's `docker-compose config`; no engine needed)
compose-check:
	SECRET_KEY=check POSTGRES_PASSWORD=check CLINIC_OWNER_PASSWORD=check CLINIC_APP_PASSWORD=check \
		docker-compose -f docker-compose.yml config --quiet
	sh -n deploy/postgres/initdb/10-roles.sh

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .mypy_cache .ruff_cache

## bench: seed PostgreSQL with 10,000 patients once (BENCH_DATABASE_URL), then time the API's hot reads
bench: $(STAMP)
	$(BIN)/python scripts/bench_api.py

## bench-reports: each report through the API beside one hand-written SQL statement of its numbers (cross-checked)
## (PostgreSQL; BENCH_REPORTS_PATIENTS, default 200,000: 6M visits, built once in about 25 minutes into
## BENCH_REPORTS_DATABASE_URL, default clinic_bench_reports_<patients>; BENCH_REPORTS_ARGS, e.g. --writes 300)
bench-reports: $(STAMP)
	$(BIN)/python scripts/bench_reports.py $(BENCH_REPORTS_ARGS)

## bench-release: one patient with five years of weekly visits, released as FHIR and as print (SPEC 13: under 2 s)
bench-release: $(STAMP)
	$(BIN)/python scripts/bench_release.py

## bench-audit: audit appends per second with 1 and 8 concurrent writers (PostgreSQL, BENCH_AUDIT_DATABASE_URL)
bench-audit: $(STAMP)
	$(BIN)/python scripts/bench_audit.py

## bench-audit-patients: "who saw this patient" (audit-events/?patient=) at 10 million events, built once by SQL
## (PostgreSQL, BENCH_AUDIT_PATIENTS_DATABASE_URL, BENCH_AUDIT_EVENTS); aim under 100 ms
bench-audit-patients: $(STAMP)
	$(BIN)/python scripts/bench_audit_patients.py

## race: every pair of writes on one case fired at once, 1,008 races (PostgreSQL, RACE_DATABASE_URL; RACE_ROUNDS)
race: $(STAMP)
	$(BIN)/python scripts/race.py

## load: gunicorn on PostgreSQL under 1, 4 and 16 client threads on loopback, reads and writes, audit on and off
## (LOAD_DATABASE_URL, LOAD_WORKERS, LOAD_SECONDS, LOAD_CONCURRENCY): req/s, p50/p95 and the audit on/off ratio
load: $(STAMP)
	$(BIN)/python scripts/load.py

## freeze: one gunicorn worker frozen (SIGSTOP) inside a write must not stall the others (PostgreSQL, the `make load` database)
freeze: $(STAMP)
	$(BIN)/python scripts/freeze.py
