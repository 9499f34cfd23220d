"""factory-boy factories for the domain; services are used where a real workflow matters (tests call them)."""

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.models import Assessment, BreakGlassGrant, CareTeamMember, Case, Patient, StageTransition, Visit
from cases.services.patients import mrn_allocate
from clinic.models import User
from clinic.roles import Role

PASSWORD = "correct-horse-battery-staple"  # every factory-made account's password


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@clinic.example.org")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Role] | None, **kwargs: object) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(r) for r in extracted]))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.LazyFunction(lambda: mrn_allocate()[0])
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=19, maximum_age=75)
    sex_at_birth = Patient.SexAtBirth.FEMALE
    phone = "785-555-0100"
    county = "Douglas"


class CaseFactory(factory.django.DjangoModelFactory):
    """An open case at intake with its opening history row (as `case_open` writes it)."""

    class Meta:
        model = Case
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    opened_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    referral_source = Case.ReferralSource.SELF
    kratom_form = Case.KratomForm.POWDER

    @factory.post_generation
    def opening(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            StageTransition.objects.create(
                case=self,
                sequence=1,
                from_stage=None,
                to_stage=Case.Stage.INTAKE,
                effective_at=timezone.make_aware(dt.datetime.combine(self.opened_on, dt.time.min)),
                reason="Case opened",
            )

    @factory.post_generation
    def care_team(self, create: bool, extracted: list[User] | None, **kwargs: object) -> None:
        if create and extracted:
            CareTeamMember.objects.bulk_create([CareTeamMember(case=self, user=u) for u in extracted])


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    case = factory.SubFactory(CaseFactory)
    clinician = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])
    visit_type = Visit.VisitType.INDIVIDUAL_COUNSELING
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    duration_minutes = 50


class Dsm5ChecklistFactory(factory.django.DjangoModelFactory):
    """A recorded DSM-5 SUD checklist (moderate: four criteria met)."""

    class Meta:
        model = Assessment

    case = factory.SubFactory(CaseFactory)
    instrument = Assessment.Instrument.DSM5_SUD
    responses = factory.LazyFunction(
        lambda: {
            code: code in {"craving", "tolerance", "withdrawal", "cut_down"}
            for code in (
                "larger_longer", "cut_down", "time_spent", "craving", "role_failure", "social_problems",
                "activities_given_up", "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
            )
        }
    )  # fmt: skip
    total = 4
    band = "moderate"
    administered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    by = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])


class BreakGlassGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BreakGlassGrant

    user = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])
    patient = factory.SubFactory(PatientFactory)
    reason = "Covering the on-call shift; patient called in crisis."
    granted_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda g: g.granted_at + dt.timedelta(hours=4))


class ClosedCaseFactory(CaseFactory):
    """A discharged (closed) case: the shape the workflow leaves behind, without walking it."""

    stage = Case.Stage.DISCHARGED
    status = Case.Status.CLOSED
    closed_on = factory.LazyAttribute(lambda c: c.opened_on + dt.timedelta(days=20))
    discharge_reason = Case.DischargeReason.COMPLETED


class AttendedVisitFactory(VisitFactory):
    """A visit the patient attended, with the start of a note (unsigned)."""

    scheduled_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=2))
    status = Visit.Status.ATTENDED
    subjective = "Cravings eased since last week; sleeping better."


class SignedVisitFactory(AttendedVisitFactory):
    """An attended visit whose note its clinician has signed (and so locked)."""

    signed_at = factory.LazyFunction(timezone.now)
    signed_by = factory.SelfAttribute("clinician")


# The shortest walk through the workflow to each stage (SPEC 3.3).
WALK_TO_STAGE: dict[str, tuple[str, ...]] = {
    Case.Stage.INTAKE: (),
    Case.Stage.ASSESSMENT: (Case.Stage.ASSESSMENT,),
    Case.Stage.TREATMENT: (Case.Stage.ASSESSMENT, Case.Stage.TREATMENT),
    Case.Stage.RECOVERY: (Case.Stage.ASSESSMENT, Case.Stage.TREATMENT, Case.Stage.RECOVERY),
    Case.Stage.DISCHARGED: (
        Case.Stage.ASSESSMENT,
        Case.Stage.TREATMENT,
        Case.Stage.RECOVERY,
        Case.Stage.DISCHARGED,
    ),
}


def case_in_stage(stage: str, *, actor: User, **case_fields: object) -> Case:
    """A case brought to `stage` through `case_transition`, one move at a time (with the DSM-5 checklist that
    treatment needs), so that its history is the chain the service itself writes."""
    from cases.services.stages import case_transition

    case = CaseFactory(**case_fields)
    for to_stage in WALK_TO_STAGE[stage]:
        if to_stage == Case.Stage.TREATMENT and not case.assessments.exists():
            Dsm5ChecklistFactory(case=case, by=actor)
        case_transition(
            case=case,
            to_stage=to_stage,
            actor=actor,
            discharge_reason=Case.DischargeReason.COMPLETED if to_stage == Case.Stage.DISCHARGED else None,
        )
    return case


# --- The clinical record (goals, screens, panels, alerts), instrument responses, back-dated treatment ---

from decimal import Decimal  # noqa: E402  (this section is appended; the imports above belong to others)


class TreatmentGoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.TreatmentGoal"

    case = factory.SubFactory(CaseFactory)
    problem = "Daily kratom use, about 30 g of powder"
    goal = "No kratom use for 30 days"
    interventions = "Weekly counseling; buprenorphine/naloxone taper"
    status = "active"
    review_date = factory.LazyFunction(timezone.localdate)
    created_by = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])


class DrugScreenFactory(factory.django.DjangoModelFactory):
    """A urine drug screen with every analyte not tested unless given."""

    class Meta:
        model = "cases.DrugScreen"

    case = factory.SubFactory(CaseFactory)
    collected_on = factory.LazyFunction(timezone.localdate)
    created_by = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])


class LiverPanelFactory(factory.django.DjangoModelFactory):
    """A normal liver panel (ALT/AST/ALP in U/L, bilirubin in mg/dL, with typical lab upper limits)."""

    class Meta:
        model = "cases.LiverPanel"

    case = factory.SubFactory(CaseFactory)
    collected_on = factory.LazyFunction(timezone.localdate)
    alt = Decimal("30.0")
    alt_uln = Decimal("40.0")
    ast = Decimal("28.0")
    ast_uln = Decimal("40.0")
    alp = Decimal("90.0")
    alp_uln = Decimal("120.0")
    total_bilirubin = Decimal("0.80")
    total_bilirubin_uln = Decimal("1.20")
    created_by = factory.SubFactory(UserFactory, roles=[Role.CLINICIAN])


class AlertFactory(factory.django.DjangoModelFactory):
    """An open alert on a case (written directly, as `alert_raise` would)."""

    class Meta:
        model = "cases.Alert"
        skip_postgeneration_save = True

    case = factory.SubFactory(CaseFactory)
    patient = factory.SelfAttribute("case.patient")
    kind = "suicide_risk"
    severity = "urgent"
    message = "PHQ-9 item 9 (thoughts of self-harm) answered 1: assess suicide risk today."
    raised_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def evidence(alert, create: bool, extracted: object, **kwargs: object) -> None:
        """Its first evidence entry, as `alert_raise` writes it (the source record, else the case)."""
        if not create:
            return
        from cases.models import AlertEvidence

        AlertEvidence.objects.create(
            alert=alert,
            source_type=alert.source_type or "case",
            source_id=alert.source_id or alert.case_id,
            at=alert.raised_at,
            summary=alert.message,
            severity=alert.severity,
            added_at=alert.raised_at,
        )


def responses_totalling(instrument: str, total: int) -> dict[str, int | bool]:
    """A complete response set for `instrument` that scores `total`, built only from each item's allowed values.

    Sums are found by a depth-first search (COWS items have gaps, e.g. gooseflesh is 0, 3 or 5); the DSM-5
    checklist meets its first `total` criteria, without the medical-supervision box."""
    from cases.instruments import INSTRUMENTS

    definition = INSTRUMENTS[instrument]
    counted = [item for item in definition.items if item.counted]
    if definition.scoring == "count_true":
        if not 0 <= total <= len(counted):
            raise ValueError(f"{instrument} cannot total {total}")
        return {item.code: index < total for index, item in enumerate(counted)}

    def fill(items: list, remaining: int) -> dict[str, int] | None:
        if not items:
            return {} if remaining == 0 else None
        head, *rest = items
        for value in sorted(head.allowed, reverse=True):
            if value <= remaining and (tail := fill(rest, remaining - value)) is not None:
                return {head.code: value, **tail}
        return None

    found = fill(counted, total)
    if found is None:
        raise ValueError(f"{instrument} cannot total {total}")
    return found


def case_in_treatment_since(days_ago: float, *, actor: User, **case_fields: object) -> Case:
    """A case that entered treatment `days_ago` days ago through `case_transition` with back-dated moves
    (opened a week earlier, assessed three days before, its DSM-5 checklist the day before)."""
    from cases.services.stages import case_transition

    entered = timezone.now() - dt.timedelta(days=days_ago)
    case_fields.setdefault("opened_on", timezone.localdate(entered) - dt.timedelta(days=7))
    case = CaseFactory(**case_fields)
    case_transition(
        case=case, to_stage=Case.Stage.ASSESSMENT, actor=actor, effective_at=entered - dt.timedelta(days=3)
    )
    Dsm5ChecklistFactory(case=case, by=actor, administered_at=entered - dt.timedelta(days=1))
    case_transition(case=case, to_stage=Case.Stage.TREATMENT, actor=actor, effective_at=entered)
    return case


class AuthenticatorFactory(factory.django.DjangoModelFactory):
    """A confirmed TOTP device (an authenticator app) for `user`; `current_code(device)` is what the app shows."""

    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Phone"
    confirmed = True


def current_code(device: TOTPDevice, *, steps_ago: int = 0) -> str:
    """The code the device's authenticator app shows now (or `steps_ago` 30-second steps earlier)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time - steps_ago * device.step
    return f"{totp.token():0{device.digits}d}"


# --- 42 CFR Part 2 ------------------------------------------------------------------------------------------------


def consent_data(**overrides: object) -> dict[str, object]:
    """A complete specific consent's elements (as `consent_record` takes them), changed by `overrides`."""
    data: dict[str, object] = {
        "kind": "specific",
        "discloser": "Kansas Kratom Recovery Clinic",
        "information": ["diagnoses", "medications", "drug_screens"],
        "recipients": [
            {"name": "Dr. Ada Lovelace, Lawrence Family Medicine", "covered_entity": True},
            {"name": "Douglas County Drug Court", "covered_entity": False},
        ],
        "purposes": ["care_coordination", "legal"],
        "expires_on": timezone.localdate() + dt.timedelta(days=365),
        "signed_on": timezone.localdate() - dt.timedelta(days=10),
        "signer_name": "The patient",
        "signer_relationship": "self",
        "form_version": "P2-2026-01",
    }
    data.update(overrides)
    return data


def make_consent(*, patient: Patient | None = None, actor: User | None = None, **overrides: object):  # type: ignore[no-untyped-def]
    """A consent recorded through the service (with its recipients and audit event)."""
    from cases.services.part2 import consent_record

    patient = patient or PatientFactory()
    actor = actor or UserFactory(roles=[Role.FRONT_DESK])
    return consent_record(actor=actor, patient=patient, data=consent_data(**overrides))
