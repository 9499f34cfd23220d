"""`manage.py seed_demo`: demo staff logins and a clinic's worth of fictional patients with a year of history."""

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.utils import timezone

from cases.demo.alerts import count_alerts, raise_recent_alerts
from cases.demo.common import DemoRows, DemoStaff
from cases.demo.data import DEMO_STAFF
from cases.demo.generator import DemoGenerator
from cases.demo.part2 import seed_part2
from cases.measures import liver_findings
from cases.models import (
    ANALYTES,
    Alert,
    Case,
    ClinicalEvent,
    Consent,
    Disclosure,
    Medication,
    Patient,
    TreatmentGoal,
    Visit,
)
from cases.services.alerts import alerts_raise_periodic
from cases.services.patients import mrn_allocate
from clinic.models import User

DEFAULT_PATIENTS = 150
DEFAULT_SEED = 2026
# Patients generated and written together: memory stays flat at --patients 10000 while inserts stay bulk.
PATIENTS_PER_BATCH = 500


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
        parser.add_argument(
            "--visit-density",
            type=float,
            default=1.0,
            help="Book follow-up visits this many times as often as usual (2: about 27 visits a case instead "
            "of 15; `make bench-reports` uses it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off, so this looks like production: refusing to load fictional patients and reset the "
                "demo logins' passwords. Pass --force if this really is a demo or test database."
            )
        count: int = options["patients"]
        if count < 1:
            raise CommandError("--patients must be at least 1.")
        density: float = options["visit_density"]
        if not 0.5 <= density <= 5:
            raise CommandError("--visit-density must be between 0.5 and 5.")
        tz = timezone.get_default_timezone()
        # One "today" for the whole run: every generated date hangs off it.
        today = timezone.localdate(timezone=tz)
        tally: Counter[str] | None = None
        with transaction.atomic():
            users = ensure_demo_users()
            if not (options["if_empty"] and Patient.objects.exists()):
                staff = DemoStaff.from_users(users)
                generator = DemoGenerator(
                    seed=options["seed"], today=today, tz=tz, staff=staff, visit_density=density
                )
                tally = seed_patients(generator, count)
                tally.update(seed_part2(users=users, today=today, seed=options["seed"]))
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
            f"  assessments       {tally['assessments']:,} ({spread('instrument:', ['dsm5_sud', 'cows', 'sows', 'phq9', 'gad7'])})",
            f"  visits            {tally['visits']:,} ({spread('visit:', Visit.Status.values)})",
            f"  signed notes      {tally['signed']:,} (addenda {tally['addenda']:,})",
            f"  drug screens      {tally['screens']:,} (positive: {spread('screen:', ANALYTES)})",
            f"  liver panels      {tally['panels']:,} ({tally['panel:above_uln']:,} above the ULN, "
            f"{tally['panel:dili']:,} meeting the DILI criteria, potential Hy's law {tally['panel:hys_law']:,})",
            f"  medications       {tally['medications']:,} ({spread('medication:', Medication.Name.values)}; "
            f"{tally['medications_current']:,} current)",
            f"  plan goals        {tally['goals']:,} ({spread('goal:', TreatmentGoal.Status.values)})",
            f"  clinical events   {tally['clinical_events']:,} ({spread('event:', ClinicalEvent.Kind.values) or 'none'})",
            f"  alerts raised     {sum(tally['raised:' + kind] for kind in Alert.Kind.values):,} "
            f"({spread('raised:', Alert.Kind.values)})",
            f"    on record       {spread('alert:', Alert.Status.values) or 'none'}",
            f"  Part 2 consents   {spread('consent:', Consent.Kind.values) or 'none'} "
            f"({tally['revocation']:,} revocations)",
            f"  disclosures       {spread('disclosure:', Disclosure.Basis.values) or 'none'} "
            f"(counseling notes {tally['counseling_note']:,}, accounting requests {tally['accounting_request']:,})",
        ]
        for severity in Alert.Severity.values:
            prefix = f"open:{severity}:"
            if any(tally[prefix + kind] for kind in Alert.Kind.values):
                lines.append(f"    open {severity:<10} {spread(prefix, Alert.Kind.values)}")
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
        user.credentials = member.credentials
        user.email = f"{member.username}@clinic.example.org"
        user.is_active = True
        user.is_staff = member.is_staff
        user.set_password(member.password)
        user.save()
        user.groups.set([groups[member.role]])
        users[member.username] = user
    return users


def seed_patients(generator: DemoGenerator, count: int) -> Counter[str]:
    """Generate and bulk-insert `count` patients batch by batch, raise the alerts their recent records
    warrant, then the time-based ones as of the demo's "now"; returns what was created, by kind."""
    tally: Counter[str] = Counter()
    with sqlite_page_cache():
        for rows in generator.batches(count, PATIENTS_PER_BATCH):
            write_rows(rows)
            tally.update(count_rows(rows))
            tally.update(raise_recent_alerts(rows.alert_checks, generator.alert_rng, generator.now))
    for kind, raised in alerts_raise_periodic(now=generator.now).items():
        tally[f"raised:{kind}"] += raised
    tally.update(count_alerts())
    return tally


def write_rows(rows: DemoRows) -> None:
    for patient, mrn in zip(rows.patients, mrn_allocate(len(rows.patients)), strict=True):
        patient.mrn = mrn
    for model, objects in rows.in_insert_order():
        insert_rows(model, objects)


# Field types whose Python values the database driver takes as they are (no `get_db_prep_save` needed).
PLAIN_TYPES = {
    "BigIntegerField", "BooleanField", "CharField", "DecimalField", "IntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "SmallIntegerField", "TextField",
}  # fmt: skip
# ... and on PostgreSQL, where psycopg adapts these natively (Django passes them through unchanged there).
PLAIN_TYPES_POSTGRESQL = PLAIN_TYPES | {"DateField", "DateTimeField", "UUIDField"}


def value_preparer(field: "models.Field[Any, Any]") -> Callable[[Any], Any] | None:
    """How a generated value reaches the database driver, as Django would send it: None if unchanged."""
    kind = (field.target_field if isinstance(field, models.ForeignKey) else field).get_internal_type()
    if kind in (PLAIN_TYPES_POSTGRESQL if connection.vendor == "postgresql" else PLAIN_TYPES):
        return None
    if connection.vendor == "sqlite":  # the SQLite backend's own adaptations, without the per-value detour
        if kind == "UUIDField":
            return lambda value: None if value is None else value.hex
        if kind == "DateField":
            return lambda value: None if value is None else str(value)
        if kind == "DateTimeField":
            tz = connection.timezone
            return lambda value: None if value is None else str(value.astimezone(tz).replace(tzinfo=None))
    return functools.partial(field.get_db_prep_save, connection=connection)


def insert_rows(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert the generated rows as they are: COPY on PostgreSQL, one executemany elsewhere. The values are
    the objects' own (defaults were applied when they were built; auto_now and auto_now_add are not, so a
    year of back-dated history keeps the times the generator chose). `bulk_create` did the same but
    prepared each of some ten million values through the field API, most of the seeding time."""
    if not objects:
        return
    # An auto-incremented key is left to the database.
    fields = [field for field in model._meta.concrete_fields if not isinstance(field, models.AutoField)]
    prepare = [value_preparer(field) for field in fields]
    attnames = [field.attname for field in fields]
    rows = (
        tuple(
            value if convert is None else convert(value)
            for value, convert in zip((getattr(obj, name) for name in attnames), prepare, strict=True)
        )
        for obj in objects
    )
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608 - quoted model names
            cursor.executemany(insert, list(rows))


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
        goals=len(rows.goals),
        medications=len(rows.medications),
        screens=len(rows.drug_screens),
        panels=len(rows.liver_panels),
        clinical_events=len(rows.clinical_events),
    )
    tally.update(f"event:{event.kind}" for event in rows.clinical_events)
    tally.update(f"stage:{case.stage}" for case in rows.cases)
    tally.update(f"reason:{case.discharge_reason}" for case in rows.cases if case.discharge_reason)
    tally.update(f"instrument:{assessment.instrument}" for assessment in rows.assessments)
    tally.update(f"visit:{visit.status}" for visit in rows.visits)
    tally.update(f"goal:{goal.status}" for goal in rows.goals)
    tally.update(f"medication:{medication.medication}" for medication in rows.medications)
    tally["medications_current"] += sum(medication.stop_date is None for medication in rows.medications)
    for screen in rows.drug_screens:
        tally.update(
            f"screen:{analyte}" for analyte, result in screen.results.items() if result == "positive"
        )
    for panel in rows.liver_panels:
        tally["panel:above_uln"] += any(
            value > limit
            for value, limit in (
                (panel.alt, panel.alt_uln),
                (panel.ast, panel.ast_uln),
                (panel.alp, panel.alp_uln),
                (panel.total_bilirubin, panel.total_bilirubin_uln),
            )
        )
        tally["panel:dili"] += liver_findings(panel).meets_dili_criteria
        tally["panel:hys_law"] += liver_findings(panel).hys_law
    return tally


@contextmanager
def sqlite_page_cache(kib: int = 128 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache while seeding: index inserts on random UUID keys stop thrashing the default
    2 MB cache once the database outgrows it (a third less time at 10,000 patients). Restored after."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (saved,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(saved)}")
