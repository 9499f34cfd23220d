"""`manage.py seed_demo`: demo staff logins and a clinic's worth of fictional patients with a year of history."""

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from cases.demo import DemoGenerator, DemoRows, DemoStaff
from cases.demo_data import DEMO_STAFF
from cases.models import Case, Patient, Visit
from cases.services.patients import mrn_allocate
from clinic.models import User

DEFAULT_PATIENTS = 150
DEFAULT_SEED = 2026
# Patients generated and written together: memory stays flat at --patients 10000 while inserts stay bulk.
PATIENTS_PER_BATCH = 500
ROWS_PER_INSERT = 1000


class Command(BaseCommand):
    help = "Create the demo staff logins (one per role and a few clinicians) and fictional patients."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--patients", type=int, default=DEFAULT_PATIENTS, help="How many patients to create."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Random seed; the same seed on the same day gives the same data.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Create no patients when any patient exists (the demo logins are still ensured).",
        )
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off, so this looks like production: refusing to load fictional patients and reset the "
                "demo logins' passwords. Pass --force if this really is a demo or test database."
            )
        count: int = options["patients"]
        if count < 1:
            raise CommandError("--patients must be at least 1.")
        tz = timezone.get_default_timezone()
        # One "today" for the whole run: every generated date hangs off it.
        today = timezone.localdate(timezone=tz)
        tally: Counter[str] | None = None
        with transaction.atomic():
            users = ensure_demo_users()
            if not (options["if_empty"] and Patient.objects.exists()):
                staff = DemoStaff.from_users(users)
                generator = DemoGenerator(seed=options["seed"], today=today, tz=tz, staff=staff)
                tally = seed_patients(generator, count)
        # Printed after the commit, so a closed pipe on stdout cannot undo the seeding.
        if tally is None:
            self.stdout.write("Patients already exist: no demo patients added (--if-empty).")
        else:
            self._write_summary(tally, seed=options["seed"], today=today.isoformat())
        self._write_logins()

    def _write_summary(self, tally: Counter[str], *, seed: int, today: str) -> None:
        def spread(prefix: str, codes: Iterable[str]) -> str:
            return ", ".join(f"{code} {tally[prefix + code]:,}" for code in codes if tally[prefix + code])

        open_stages = [stage for stage in Case.Stage.values if stage != Case.Stage.DISCHARGED]
        lines = [
            f"Demo data as of {today}, seed {seed}:",
            f"  patients          {tally['patients']:,}",
            f"  cases             {tally['cases']:,} ({tally['cases'] - tally['patients']:,} readmissions)",
            f"    open            {spread('stage:', open_stages)}",
            f"    discharged      {tally['stage:discharged']:,} ({spread('reason:', Case.DischargeReason.values)})",
            f"  stage changes     {tally['transitions']:,}",
            f"  care-team members {tally['care_team']:,}",
            f"  assessments       {tally['assessments']:,} ({spread('instrument:', ['dsm5_sud', 'cows', 'phq9', 'gad7'])})",
            f"  visits            {tally['visits']:,} ({spread('visit:', Visit.Status.values)})",
            f"  signed notes      {tally['signed']:,} (addenda {tally['addenda']:,})",
        ]
        self.stdout.write("\n".join(lines))

    def _write_logins(self) -> None:
        rows = [
            ("username", "password", "role"),
            *((m.username, m.password, str(m.role)) for m in DEMO_STAFF),
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        self.stdout.write("\nDemo logins (fictional clinic; never use these passwords anywhere real):")
        for row in rows:
            cells = (value.ljust(width) for value, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + "  ".join(cells)).rstrip())


def ensure_demo_users() -> dict[str, User]:
    """Create or reset every demo user: names, role group and password as `DEMO_STAFF` lists them."""
    groups = {group.name: group for group in Group.objects.filter(name__in=[m.role for m in DEMO_STAFF])}
    missing = sorted({str(m.role) for m in DEMO_STAFF} - set(groups))
    if missing:
        raise CommandError(f"Role groups missing ({', '.join(missing)}): run `manage.py migrate` first.")
    users: dict[str, User] = {}
    for member in DEMO_STAFF:
        user = User.objects.filter(username=member.username).first() or User(username=member.username)
        user.first_name, user.last_name = member.first_name, member.last_name
        user.email = f"{member.username}@clinic.example.org"
        user.is_active = True
        user.is_staff = member.is_staff
        user.set_password(member.password)
        user.save()
        user.groups.set([groups[member.role]])
        users[member.username] = user
    return users


def seed_patients(generator: DemoGenerator, count: int) -> Counter[str]:
    """Generate and bulk-insert `count` patients batch by batch; returns what was created, by kind."""
    tally: Counter[str] = Counter()
    with timestamps_as_generated(model for model, _ in DemoRows().in_insert_order()):
        for rows in generator.batches(count, PATIENTS_PER_BATCH):
            write_rows(rows)
            tally.update(count_rows(rows))
    return tally


def write_rows(rows: DemoRows) -> None:
    for patient, mrn in zip(rows.patients, mrn_allocate(len(rows.patients)), strict=True):
        patient.mrn = mrn
    for model, objects in rows.in_insert_order():
        model._default_manager.bulk_create(objects, batch_size=ROWS_PER_INSERT)


def count_rows(rows: DemoRows) -> Counter[str]:
    tally: Counter[str] = Counter(
        patients=len(rows.patients),
        cases=len(rows.cases),
        transitions=len(rows.transitions),
        care_team=len(rows.care_team),
        assessments=len(rows.assessments),
        visits=len(rows.visits),
        addenda=len(rows.addenda),
        signed=sum(visit.signed_at is not None for visit in rows.visits),
    )
    tally.update(f"stage:{case.stage}" for case in rows.cases)
    tally.update(f"reason:{case.discharge_reason}" for case in rows.cases if case.discharge_reason)
    tally.update(f"instrument:{assessment.instrument}" for assessment in rows.assessments)
    tally.update(f"visit:{visit.status}" for visit in rows.visits)
    return tally


@contextmanager
def timestamps_as_generated(model_classes: Iterable[type[models.Model]]) -> Iterator[None]:
    """Let bulk_create keep the created/recorded times the generator chose.

    auto_now and auto_now_add would stamp every row with the moment of seeding, so a year of back-dated
    history would read as all recorded today (and differ from run to run). Restored on the way out.
    """
    fields = [
        field
        for model in model_classes
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add
