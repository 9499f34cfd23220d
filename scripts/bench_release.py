"""`make bench-release`: how long a record release takes for a patient with five years of weekly visits.

Builds, in a throwaway test database (SQLite in memory, or PostgreSQL when DATABASE_URL says so), one patient with
five years of weekly attended visits (signed SOAP notes, vitals), monthly PHQ-9 and GAD-7, quarterly COWS and
DSM-5 checklists, fortnightly urine drug screens, quarterly liver panels, medications and plan goals; then times,
BENCH_RUNS times each after a warm-up, and prints the median and the slowest run with the SQL queries:

- the selection and the FHIR Bundle's bytes, and the selection and the printable summary's bytes (in-process);
- the whole release through the API, `POST patients/{id}/release/` (check, build, hash, record, answer) under a
  TPO consent, as the patient's clinician.

SPEC section 13 asks for under 2 s. The CPU time beside each median is this process's own (Django and SQLite run
in it), the figure to read when the machine is shared. `python scripts/bench_release.py`
"""

import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
YEARS = 5


def build_patient():
    from django.utils import timezone

    from cases.instruments.scoring import score_responses
    from cases.models import (
        Assessment,
        Case,
        DrugScreen,
        LiverPanel,
        Medication,
        Patient,
        StageTransition,
        TreatmentGoal,
        Visit,
    )
    from cases.services.patients import mrn_allocate
    from clinic.models import User
    from tests.factories import responses_totalling

    clinician = User.objects.create_user(username="bench-clinician", first_name="Casey", last_name="Ames")
    patient = Patient.objects.create(
        mrn=mrn_allocate()[0],
        first_name="Bench",
        last_name="Patient",
        date_of_birth=dt.date(1980, 5, 1),
        sex_at_birth="female",
        phone="785-555-0100",
        city="Lawrence",
        postal_code="66044",
    )
    now = timezone.now()
    opened = timezone.localdate(now) - dt.timedelta(days=365 * YEARS)
    case = Case.objects.create(
        patient=patient,
        opened_on=opened,
        referral_source="self",
        primary_clinician=clinician,
        stage="treatment",
    )
    start = timezone.make_aware(dt.datetime.combine(opened, dt.time(9)))
    for sequence, (before, after, days) in enumerate(
        ((None, "intake", 0), ("intake", "assessment", 2), ("assessment", "treatment", 9)), start=1
    ):
        StageTransition.objects.create(
            case=case,
            sequence=sequence,
            from_stage=before,
            to_stage=after,
            effective_at=start + dt.timedelta(days=days),
            by=clinician,
        )
    weeks = 52 * YEARS
    Visit.objects.bulk_create(
        Visit(
            case=case,
            clinician=clinician,
            visit_type="individual_counseling",
            scheduled_at=start + dt.timedelta(weeks=week),
            status="attended",
            subjective=f"Week {week}: cravings {week % 7} of 10 most days; sleeping better.",
            objective="Alert, oriented; no sweating or tremor.",
            assessment="Kratom use disorder, improving.",
            plan="Continue weekly counseling.",
            craving=week % 7,
            kratom_days_used_30=week % 5,
            bp_systolic=118 + week % 30,
            bp_diastolic=76 + week % 12,
            heart_rate=70 + week % 20,
            weight_kg=Decimal("80.0"),
            signed_at=start + dt.timedelta(weeks=week, hours=1),
            signed_by=clinician,
        )
        for week in range(weeks)
    )
    assessments = []
    for month in range(12 * YEARS):
        at = start + dt.timedelta(days=30 * month)
        plan = [("phq9", month % 20), ("gad7", month % 15)]
        if month % 3 == 0:
            plan += [("cows", month % 20), ("dsm5_sud", 6 if month < 12 else 1)]
        for instrument, total in plan:
            responses, score = score_responses(instrument, responses_totalling(instrument, total))
            assessments.append(
                Assessment(
                    case=case,
                    instrument=instrument,
                    responses=responses,
                    total=score.total,
                    band=score.band,
                    administered_at=at,
                    by=clinician,
                )
            )
    Assessment.objects.bulk_create(assessments)
    DrugScreen.objects.bulk_create(
        DrugScreen(
            case=case,
            collected_on=opened + dt.timedelta(weeks=2 * n),
            mitragynine="negative",
            seven_oh_mitragynine="negative",
            fentanyl="negative",
            opioids="negative",
            created_by=clinician,
        )
        for n in range(26 * YEARS)
    )
    LiverPanel.objects.bulk_create(
        LiverPanel(
            case=case,
            collected_on=opened + dt.timedelta(days=91 * n),
            alt=Decimal(30 + n),
            alt_uln=Decimal(40),
            ast=Decimal(28),
            ast_uln=Decimal(40),
            alp=Decimal(90),
            alp_uln=Decimal(120),
            total_bilirubin=Decimal("0.8"),
            total_bilirubin_uln=Decimal("1.2"),
            created_by=clinician,
        )
        for n in range(4 * YEARS)
    )
    Medication.objects.create(
        case=case,
        medication="buprenorphine_naloxone",
        dose="8 mg/2 mg",
        frequency="once daily",
        start_date=opened,
        prescriber="Dr. Ames",
        created_by=clinician,
    )
    for n in range(6):
        TreatmentGoal.objects.create(
            case=case,
            problem=f"Problem {n}",
            goal=f"Goal {n}",
            interventions="Weekly counseling",
            review_date=timezone.localdate(now),
            created_by=clinician,
        )
    return patient, clinician


def timed(label: str, action) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    action()  # warm-up
    times, cpu, queries, size = [], [], 0, 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            size = len(action())
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        queries = len(captured.captured_queries)
    print(
        f"{label:<52} median {statistics.median(times) * 1000:6.0f} ms (CPU {statistics.median(cpu) * 1000:5.0f} ms)"
        f"   slowest {max(times) * 1000:6.0f} ms"
        f"   {queries:3d} queries   {size / 1024:7.0f} KiB",
        flush=True,
    )


def release_through_api(patient, clinician) -> None:
    """The whole release through the API, in-process (Django's test client): check, build, hash, record, answer."""
    from django.contrib.auth.models import Group
    from django.test import Client

    from cases.services.part2 import consent_record
    from clinic.roles import Role

    clinician.groups.add(Group.objects.get(name=Role.CLINICIAN))
    consent = consent_record(
        actor=clinician,
        patient=patient,
        data={
            "kind": "tpo",
            "discloser": "Kratom recovery clinic",
            "information": ["all_records"],
            "recipients": [{"name": "Dr. Lee, Lawrence Family Medicine", "covered_entity": True}],
            "purposes": ["treatment"],
            "signed_on": dt.date.today() - dt.timedelta(days=1),
            "signer_name": "Bench Patient",
            "signer_relationship": "self",
            "form_version": "P2-2026-01",
        },
    )
    client = Client()
    client.force_login(clinician)
    body = {
        "basis": "consent",
        "consent": str(consent.pk),
        "consent_recipient": str(consent.recipients.get().pk),
        "purpose": "treatment",
        "information": ["all_records"],
    }
    for fmt in ("fhir", "printable"):

        def post(fmt: str = fmt) -> bytes:
            response = client.post(
                f"/api/v1/patients/{patient.pk}/release/",
                {**body, "format": fmt},
                content_type="application/json",
            )
            if response.status_code != 201:
                raise SystemExit(f"release refused: {response.status_code} {response.content[:300]!r}")
            return response.content

        timed(f"POST patients/{{id}}/release/ ({fmt}, all_records)", post)


def main() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.utils import timezone

    from cases.release.fhir_bundle import fhir_bundle_bytes
    from cases.release.printable import ReleaseFacts, printable_bytes
    from cases.release.selection import CATEGORIES, COUNSELING_NOTES, release_selection

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        patient, clinician = build_patient()
        categories = [c for c in CATEGORIES if c != COUNSELING_NOTES]
        facts = ReleaseFacts(
            recipient_name="Dr. Lee",
            purpose="treatment",
            basis="consent",
            released_by="Casey Ames",
            released_at=timezone.now(),
        )
        counts = {
            "visits": patient.cases.get().visits.count(),
            "assessments": patient.cases.get().assessments.count(),
            "screens": patient.cases.get().drug_screens.count(),
        }
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{connection.vendor}: one patient, {YEARS} years: {counts}; {RUNS} runs each after a warm-up")
        timed(
            "select + FHIR Bundle (every category)",
            lambda: fhir_bundle_bytes(
                release_selection(patient=patient, categories=categories), generated_at=timezone.now()
            ),
        )
        timed(
            "select + printable summary (every category)",
            lambda: printable_bytes(
                release_selection(patient=patient, categories=categories),
                facts=facts,
                stylesheet_url="/r.css",
            ),
        )
        release_through_api(patient, clinician)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
