"""`manage.py seed_demo` on an empty database: its refusals, --if-empty, the rows it writes read back, and the same
seed building the same clinic. (test_seed_demo.py reads one clinic seeded once for its module.)"""

import datetime as dt
import hashlib
import io
import json
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import timezone

from cases.demo.common import DemoStaff
from cases.demo.generator import DemoGenerator
from cases.management.commands.seed_demo import ensure_demo_users, write_rows
from cases.models import (
    ANALYTES,
    Alert,
    AlertEvidence,
    Assessment,
    CareTeamMember,
    Case,
    DrugScreen,
    LiverPanel,
    Medication,
    Patient,
    StageTransition,
    TreatmentGoal,
    Visit,
    VisitAddendum,
)
from clinic.models import User
from tests.cases.test_seed_demo import seed


def test_it_refuses_to_run_when_debug_is_off(db):
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", patients=3, stdout=io.StringIO())
    assert not Patient.objects.exists()
    assert not User.objects.filter(username="clinician").exists()


def test_if_empty_seeds_an_empty_database(db):
    seed(patients=5, if_empty=True)

    assert Patient.objects.count() == 5


def test_generated_rows_read_back_unchanged(db):
    """The seed writes rows straight into the tables (COPY or executemany): what comes back through the
    ORM is what the generator made, on SQLite and on PostgreSQL alike."""
    tz = timezone.get_default_timezone()
    staff = DemoStaff.from_users(ensure_demo_users())
    rows = next(DemoGenerator(seed=9, today=timezone.localdate(), tz=tz, staff=staff).batches(12, 12))
    write_rows(rows)

    def normal(value: object) -> object:
        if isinstance(value, str):  # choices members too
            return str(value)
        if isinstance(value, Decimal):
            return value.normalize()
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC)
        if isinstance(value, (list, dict)):
            return json.dumps(value, sort_keys=True)
        return value

    for model, objects in rows.in_insert_order():
        names = [f.attname for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        generated = Counter(repr(tuple(normal(getattr(obj, n)) for n in names)) for obj in objects)
        stored = Counter(repr(tuple(normal(v) for v in row)) for row in model.objects.values_list(*names))
        assert stored == generated, model.__name__


# --- Reproducibility. ---


def clinic_digest() -> str:
    """A fingerprint of the seeded clinic that ignores random ids and MRN values but keeps their order."""
    digest = hashlib.sha256()
    patients = Patient.objects.order_by("mrn")
    case_fields = ("opened_on", "stage", "closed_on", "discharge_reason", "primary_clinician__username")
    for patient in patients.values_list("first_name", "last_name", "date_of_birth", "city", "phone"):
        digest.update(repr(patient).encode())
    cases = Case.objects.order_by("patient__mrn", "opened_on")
    for row in cases.values_list(*case_fields, "kratom_daily_grams"):
        digest.update(repr(row).encode())
    transitions = StageTransition.objects.order_by("case__patient__mrn", "case__opened_on", "sequence")
    for row in transitions.values_list("to_stage", "effective_at", "by__username", "reason"):
        digest.update(repr(row).encode())
    visits = Visit.objects.order_by("case__patient__mrn", "scheduled_at")
    for row in visits.values_list(
        "scheduled_at", "visit_type", "status", "craving", "subjective", "signed_at"
    ):
        digest.update(repr(row).encode())
    for row in Assessment.objects.order_by("case__patient__mrn", "administered_at", "instrument").values_list(
        "instrument", "total", "administered_at"
    ):
        digest.update(repr(row).encode())
    by_case = ("case__patient__mrn", "case__opened_on")
    for model, order, fields in (
        (TreatmentGoal, ("created_at", "goal"), ("goal", "status", "review_date", "target_date")),
        (
            Medication,
            ("start_date", "medication"),
            ("medication", "dose", "start_date", "stop_date", "prescriber"),
        ),
        (DrugScreen, ("collected_on", "created_at"), ("collected_on", *ANALYTES)),
        (LiverPanel, ("collected_on",), ("collected_on", "alt", "ast", "alp", "total_bilirubin")),
        (
            Alert,
            ("raised_at", "kind"),
            (
                "kind",
                "severity",
                "status",
                "raised_at",
                "acknowledged_at",
                "resolved_at",
                "message",
                "resolve_note",
            ),
        ),
    ):
        for row in model.objects.order_by(*by_case, *order).values_list(*fields):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def wipe_patients() -> None:
    from cases.models import (
        AccountingRequest,
        Consent,
        ConsentRecipient,
        ConsentRevocation,
        CounselingNote,
        Disclosure,
    )

    for part2 in (
        Disclosure,
        AccountingRequest,
        CounselingNote,
        ConsentRevocation,
        ConsentRecipient,
        Consent,
    ):
        part2.objects.all().delete()
    AlertEvidence.objects.all().delete()
    Alert.objects.all().delete()
    from cases.models import ClinicalEvent

    for model in (TreatmentGoal, Medication, DrugScreen, LiverPanel, ClinicalEvent):
        model.objects.all().delete()
    VisitAddendum.objects.all().delete()
    Visit.objects.all().delete()
    Assessment.objects.all().delete()
    StageTransition.objects.all().delete()
    CareTeamMember.objects.all().delete()
    Case.objects.all().delete()
    Patient.objects.all().delete()


def test_the_same_seed_builds_the_same_clinic_and_another_seed_a_different_one(db):
    seed(patients=15, seed=5)
    first = clinic_digest()
    wipe_patients()
    seed(patients=15, seed=5)
    again = clinic_digest()
    wipe_patients()
    seed(patients=15, seed=6)

    assert again == first
    assert clinic_digest() != first
