"""`manage.py seed_demo`: a login for every role, and a fictional clinic that obeys the workflow, the same each run."""

import datetime as dt
import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from statistics import mean
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import RequestFactory
from django.utils import timezone

from cases.contact import contact_preference_problem
from cases.demo import data as demo_data
from cases.demo.common import DemoRows, DemoStaff, quota
from cases.demo.generator import DemoGenerator
from cases.instruments import score_responses
from cases.kansas import KANSAS_COUNTIES
from cases.measures import liver_findings
from cases.models import (
    ANALYTES,
    Alert,
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
from clinic.roles import Role
from tests.builders import rows_for_the_scope

PATIENTS = 40
DSM5_CODES = {
    "larger_longer", "cut_down", "time_spent", "craving", "role_failure", "social_problems",
    "activities_given_up", "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
}  # fmt: skip
DISCHARGE_REASONS = {
    "completed", "left_against_advice", "transferred", "terminated_by_facility", "incarcerated", "other",
}  # fmt: skip


def seed(**options: object) -> str:
    """Run the command as the test settings require (DEBUG is off there) and return what it printed."""
    out = io.StringIO()
    call_command("seed_demo", force=True, stdout=out, **options)
    return out.getvalue()


def printed_logins(output: str) -> dict[str, tuple[str, str]]:
    """{username: (password, role)} from the login table at the end of the output."""
    table = output.split("Demo logins", 1)[1].splitlines()[2:]
    return {cells[0]: (cells[1], cells[2]) for cells in (line.split() for line in table) if len(cells) == 3}


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo clinic, seeded once for this module (the tests on an empty database are in
    test_seed_demo_empty.py): each test reads it in a savepoint, so what one writes the next does not see."""
    with rows_for_the_scope(django_db_blocker, lambda: seed(patients=PATIENTS, seed=11)) as output:
        yield output


@pytest.fixture
def seeded(seeded_once, db) -> str:
    """What the seeding printed."""
    return seeded_once


def dsm5_band(total: int) -> str:
    return "none" if total <= 1 else "mild" if total <= 3 else "moderate" if total <= 5 else "severe"


# --- Safety and flags. ---


def test_it_refuses_a_patient_count_below_one(db):
    with pytest.raises(CommandError, match="at least 1"):
        seed(patients=0)


def test_if_empty_adds_no_patients_but_restores_the_demo_logins(seeded):
    before = (Patient.objects.count(), Case.objects.count(), Visit.objects.count())
    clinician = User.objects.get(username="clinician")
    clinician.set_password("someone-changed-it-123")
    clinician.save()

    output = seed(patients=PATIENTS, seed=11, if_empty=True)

    assert (Patient.objects.count(), Case.objects.count(), Visit.objects.count()) == before
    assert "no demo patients added" in output
    password, _ = printed_logins(output)["clinician"]
    assert (
        authenticate(RequestFactory().post("/accounts/login/"), username="clinician", password=password)
        is not None
    )
    assert User.objects.filter(username="clinician").count() == 1


# --- Demo logins. ---


@pytest.mark.parametrize("role", list(Role))
def test_each_role_has_a_demo_login_that_works_with_the_printed_password(seeded, role):
    logins = {name: pw for name, (pw, code) in printed_logins(seeded).items() if code == role}

    assert logins, f"no demo login printed for {role}"
    for username, password in logins.items():
        assert len(password) >= 12
        # the lockout (django-axes) needs the request that the credentials came with
        user = authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)
        assert user is not None
        assert role in user.roles


def test_the_login_table_lists_every_demo_user(seeded):
    assert printed_logins(seeded) == {m.username: (m.password, str(m.role)) for m in demo_data.DEMO_STAFF}


def test_only_the_administrator_demo_user_is_staff(seeded):
    assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["admin"]


def test_caseloads_are_spread_over_several_clinicians(seeded):
    primaries = set(Case.objects.values_list("primary_clinician__username", flat=True))

    assert {"clinician", "dr.okafor", "np.reyes"} <= primaries
    assert CareTeamMember.objects.exists()


# --- The clinic the command builds. ---


def test_patients_are_spread_over_every_stage(seeded):
    stages = set(Case.objects.values_list("stage", flat=True))

    assert stages == set(Case.Stage.values)
    assert Patient.objects.count() == PATIENTS


def test_some_patients_are_readmitted_after_an_earlier_discharge(seeded):
    readmitted = Patient.objects.annotate(n=Count("cases")).filter(n__gt=1)

    assert readmitted.exists()
    for patient in readmitted:
        earlier, latest = patient.cases.order_by("opened_on")
        assert earlier.status == "closed" and latest.status == "open"
        assert earlier.closed_on <= latest.opened_on


def test_cases_are_discharged_for_every_listed_reason(seeded):
    reasons = set(Case.objects.filter(status="closed").values_list("discharge_reason", flat=True))

    assert reasons >= DISCHARGE_REASONS


def test_every_case_history_is_one_clean_chain_ending_in_its_stage(seeded):
    now = timezone.now()
    chains: dict[object, list[StageTransition]] = defaultdict(list)
    for transition in StageTransition.objects.order_by("case_id", "sequence"):
        chains[transition.case_id].append(transition)

    for case in Case.objects.all():
        chain = chains[case.pk]
        assert [t.sequence for t in chain] == list(range(1, len(chain) + 1))
        assert (chain[0].from_stage, chain[0].to_stage) == (None, "intake")
        assert timezone.localdate(chain[0].effective_at) == case.opened_on
        for previous, current in pairwise(chain):
            assert current.from_stage == previous.to_stage
            assert previous.effective_at <= current.effective_at
        assert chain[-1].effective_at <= now
        assert chain[-1].to_stage == case.stage
        assert case.version == len(chain)


def test_discharged_cases_are_closed_on_the_day_of_their_discharge(seeded):
    for case in Case.objects.filter(stage="discharged"):
        discharge = case.stage_history.get(to_stage="discharged")
        assert case.status == "closed"
        assert case.closed_on == timezone.localdate(discharge.effective_at)
        assert case.discharge_reason == discharge.discharge_reason is not None


def test_cases_reach_treatment_only_after_a_dsm5_checklist(seeded):
    first_treatment = StageTransition.objects.filter(to_stage="treatment", from_stage="assessment")

    assert first_treatment.exists()
    for transition in first_treatment:
        checklists = Assessment.objects.filter(
            case_id=transition.case_id, instrument="dsm5_sud", administered_at__lte=transition.effective_at
        )
        assert checklists.exists()


def test_assessments_carry_their_computed_total_and_band(seeded):
    for checklist in Assessment.objects.filter(instrument="dsm5_sud"):
        assert set(checklist.responses) == DSM5_CODES
        assert all(isinstance(value, bool) for value in checklist.responses.values())
        assert checklist.total == sum(checklist.responses.values())
        assert checklist.band == dsm5_band(checklist.total)
    for screen in Assessment.objects.exclude(instrument="dsm5_sud"):
        assert screen.total == sum(screen.responses.values())
    assert set(Assessment.objects.values_list("instrument", flat=True)) >= {"dsm5_sud", "phq9", "gad7"}


def test_no_visit_is_scheduled_before_its_case_opened(seeded):
    for visit in Visit.objects.select_related("case"):
        assert timezone.localdate(visit.scheduled_at) >= visit.case.opened_on


def test_visits_are_with_clinical_staff_on_the_case(seeded):
    for visit in Visit.objects.select_related("clinician", "case").prefetch_related("clinician__groups"):
        assert visit.clinician.roles & {Role.CLINICIAN, Role.SUPERVISOR}
        team = {visit.case.primary_clinician_id, *visit.case.care_team.values_list("pk", flat=True)}
        assert visit.clinician_id in team


def test_visits_show_a_believable_mix_of_attendance(seeded):
    statuses = set(Visit.objects.values_list("status", flat=True))
    attended = Visit.objects.filter(status="attended").count()

    assert statuses == set(Visit.Status.values)
    assert attended > Visit.objects.exclude(status__in=["attended", "scheduled"]).count() * 3


def test_only_future_visits_of_open_cases_are_still_scheduled(seeded):
    start_of_today = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))
    scheduled = Visit.objects.filter(status="scheduled")

    assert not scheduled.filter(scheduled_at__lt=start_of_today).exists()
    assert not scheduled.filter(case__status="closed").exists()
    for case in Case.objects.filter(status="open"):
        assert case.visits.filter(status="scheduled").exists(), f"open case {case.pk} has nothing booked"


def test_most_notes_are_signed_and_a_few_recent_ones_wait(seeded):
    attended = Visit.objects.filter(status="attended")
    signed = attended.filter(signed_at__isnull=False)

    assert signed.count() > attended.count() * 0.9
    for visit in signed:
        assert visit.signed_by_id == visit.clinician_id
        assert visit.signed_at >= visit.scheduled_at
        assert visit.signed_at <= timezone.now()
    assert not Visit.objects.exclude(status="attended").filter(signed_at__isnull=False).exists()
    assert attended.filter(signed_at__isnull=True).exists()


def test_addenda_follow_the_signature_of_their_note(seeded):
    addenda = VisitAddendum.objects.select_related("visit")

    assert addenda.exists()
    for addendum in addenda:
        assert addendum.visit.signed_at is not None
        assert addendum.visit.signed_at < addendum.created_at <= timezone.now()


def test_use_and_craving_come_down_between_intake_and_recovery(seeded):
    at_intake = Visit.objects.filter(status="attended", visit_type="intake")
    in_recovery = []
    for case in Case.objects.filter(stage="recovery"):
        since = case.stage_history.order_by("-sequence").first().effective_at
        in_recovery += case.visits.filter(status="attended", scheduled_at__gt=since, craving__isnull=False)

    assert in_recovery
    assert mean(at_intake.values_list("craving", flat=True)) >= mean(v.craving for v in in_recovery) + 3
    assert mean(at_intake.values_list("kratom_days_used_30", flat=True)) >= 25
    assert mean(v.kratom_days_used_30 for v in in_recovery) < 3
    assert Visit.objects.filter(bp_systolic__gte=140).exists()  # a few patients run high blood pressure


def test_patients_are_adults_living_in_kansas(seeded):
    today = timezone.localdate()
    for patient in Patient.objects.all():
        age = (
            today.year
            - patient.date_of_birth.year
            - (today.timetuple()[1:3] < patient.date_of_birth.timetuple()[1:3])
        )
        assert 19 <= age <= 75
        assert patient.state == "KS"
        assert patient.county in KANSAS_COUNTIES
        assert patient.mrn.startswith("KR")


def test_patients_carry_contact_preferences_their_records_allow(seeded):
    patients = list(Patient.objects.all())

    assert all(contact_preference_problem(patient) == "" for patient in patients)
    assert {p.may_leave_voicemail for p in patients} == {True, False, None}  # some not asked yet
    assert {p.may_text for p in patients} == {True, False, None}
    assert {p.preferred_contact_method for p in patients} >= {"phone", "text", ""}


def test_every_place_in_the_vocabulary_is_a_kansas_county():
    assert {place[1] for place in demo_data.KANSAS_PLACES} <= set(KANSAS_COUNTIES)


# --- The clinical record: scores over time, urine screens, liver panels, medications, plans and alerts. ---


def reached(stage: str) -> set[object]:
    return set(StageTransition.objects.filter(to_stage=stage).values_list("case_id", flat=True))


def case_window(case: Case) -> tuple[dt.date, dt.date]:
    """The days a case's records may fall on: from its opening to its closing (or today)."""
    return case.opened_on, case.closed_on or timezone.localdate()


def test_every_stored_assessment_carries_the_registrys_total_and_band(seeded):
    for assessment in Assessment.objects.all():
        clean, score = score_responses(assessment.instrument, assessment.responses)
        assert clean == assessment.responses
        assert (assessment.total, assessment.band) == (score.total, score.band)


def test_withdrawal_eases_through_treatment_and_mood_lifts_for_most(seeded):
    series: dict[tuple[object, str], list[int]] = defaultdict(list)
    for case_id, instrument, total in (
        Assessment.objects.filter(instrument__in=["cows", "phq9"])
        .order_by("administered_at")
        .values_list("case_id", "instrument", "total")
    ):
        series[(case_id, instrument)].append(total)
    for instrument in ("cows", "phq9"):
        repeated = [totals for (_, code), totals in series.items() if code == instrument and len(totals) > 1]
        assert len(repeated) >= 5
        assert mean(totals[-1] for totals in repeated) < mean(totals[0] for totals in repeated) - 2
        assert sum(totals[-1] < totals[0] for totals in repeated) > len(repeated) / 2
    treated = reached("treatment")
    assert Assessment.objects.filter(instrument="cows", case_id__in=treated).count() > len(treated)


def test_item_nine_stays_zero_but_for_one_or_two_patients(seeded):
    positive = [a for a in Assessment.objects.filter(instrument="phq9") if a.responses["q9"] > 0]

    assert 1 <= len({a.case_id for a in positive}) <= 2
    assert {a.responses["q9"] for a in positive} == {1}


def test_urine_screens_show_use_early_and_mostly_negative_in_recovery(seeded):
    screens = DrugScreen.objects.select_related("case")
    treated = reached("treatment")

    assert {screen.case_id for screen in screens} >= treated
    for screen in screens:
        first, last = case_window(screen.case)
        assert first <= screen.collected_on <= last
        assert screen.created_at <= timezone.now()
    first_screens = {}
    for screen in screens.order_by("-collected_on"):
        first_screens[screen.case_id] = screen
    early = [s.mitragynine for s in first_screens.values()]
    assert early.count("positive") > 0.8 * len(early)
    in_recovery = []
    for case in Case.objects.filter(stage="recovery"):
        since = case.stage_history.order_by("-sequence").first().effective_at
        in_recovery += case.drug_screens.filter(collected_on__gt=timezone.localdate(since))
    assert len(in_recovery) >= 5
    assert sum(s.mitragynine == "negative" for s in in_recovery) >= 0.8 * len(in_recovery)
    results = Counter((analyte, getattr(s, analyte)) for s in screens for analyte in ANALYTES)
    assert results[("cannabinoids", "positive")] + results[("benzodiazepines", "positive")] > 0
    assert any(results[(analyte, "not_tested")] for analyte in ANALYTES)
    assert 1 <= results[("fentanyl", "positive")] <= 2  # very rare: one or two patients


def test_buprenorphine_shows_on_the_screens_of_patients_prescribed_it(seeded):
    on_it = set(
        Medication.objects.filter(medication="buprenorphine_naloxone").values_list("case_id", flat=True)
    )
    positive = DrugScreen.objects.filter(buprenorphine="positive")

    assert positive.exists()
    assert positive.filter(case_id__in=on_it).count() >= 0.9 * positive.count()


def test_liver_panels_at_intake_for_most_a_few_abnormal(seeded):
    panels = LiverPanel.objects.select_related("case")
    assessed = reached("assessment")

    assert len({panel.case_id for panel in panels}) >= 0.7 * len(assessed)
    above_uln = dili = 0
    for panel in panels:
        first, last = case_window(panel.case)
        assert first <= panel.collected_on <= last
        assert (panel.alt_uln, panel.ast_uln, panel.alp_uln, panel.total_bilirubin_uln) in {
            (Decimal("40"), Decimal("40"), Decimal("120"), Decimal("1.2")),
            (Decimal("33"), Decimal("36"), Decimal("126"), Decimal("1.0")),
        }
        assert min(panel.alt, panel.ast, panel.alp, panel.total_bilirubin) > 0
        above_uln += panel.alt > panel.alt_uln or panel.ast > panel.ast_uln
        dili += liver_findings(panel).meets_dili_criteria
    assert 0 < above_uln < 0.4 * panels.count()
    assert 1 <= dili <= 3
    assert sum(liver_findings(p).hys_law for p in panels) <= 1


def test_medications_start_in_treatment_and_stop_by_the_discharge(seeded):
    medications = Medication.objects.select_related("case")
    prescribers = {f"{m.first_name} {m.last_name}" for m in demo_data.DEMO_STAFF if m.prescriber}
    treated = reached("treatment")

    assert {"buprenorphine_naloxone", "clonidine"} <= set(medications.values_list("medication", flat=True))
    for medication in medications:
        case = medication.case
        assert case.pk in treated
        first, last = case_window(case)
        assert first <= medication.start_date <= last
        if medication.stop_date is not None:
            assert medication.start_date <= medication.stop_date <= last
        if case.status == "closed":
            assert medication.stop_date is not None
        assert medication.prescriber in prescribers
        assert medication.medication != "other" or medication.other_name
        assert medication.dose and medication.frequency
    bup = medications.filter(medication="buprenorphine_naloxone")
    assert bup.filter(dose="8 mg/2 mg", frequency="once daily").exists()
    assert bup.filter(stop_date__isnull=True).exists()
    withdrawal = medications.filter(medication__in=["clonidine", "lofexidine"])
    assert withdrawal.filter(stop_date__isnull=False).count() >= 0.8 * withdrawal.count()


def test_cases_in_treatment_have_a_plan_with_one_to_three_goals(seeded):
    goals = TreatmentGoal.objects.select_related("case")
    treated = reached("treatment")
    by_case = Counter(goal.case_id for goal in goals)

    assert set(by_case) == treated
    assert all(1 <= n <= 4 for n in by_case.values())  # a return to treatment adds one
    assert set(goals.values_list("status", flat=True)) == set(TreatmentGoal.Status.values)
    today = timezone.localdate()
    for goal in goals:
        first, last = case_window(goal.case)
        assert goal.problem and goal.goal and goal.interventions
        assert first <= goal.review_date <= last
        assert goal.target_date > goal.created_at.date()
        assert goal.created_at <= goal.updated_at <= timezone.now()
    in_treatment = goals.filter(case__stage="treatment")
    assert in_treatment.filter(status="active").exists()
    recent = in_treatment.filter(review_date__gte=today - dt.timedelta(days=90)).count()
    assert recent >= 0.7 * in_treatment.count()


def test_the_worklist_holds_a_few_open_alerts_some_urgent(seeded):
    alerts = Alert.objects.select_related("case")

    assert alerts.filter(status="open").exists()
    assert alerts.filter(severity="urgent").exists()
    assert alerts.filter(status="open").count() < 0.5 * Case.objects.filter(status="open").count()
    unresolved = alerts.exclude(status="resolved").values("case_id", "kind").annotate(n=Count("id"))
    assert all(row["n"] == 1 for row in unresolved)
    now = timezone.now()
    for alert in alerts:
        assert alert.patient_id == alert.case.patient_id
        assert alert.raised_at <= now
        if alert.status != "open":
            assert alert.raised_at <= alert.acknowledged_at <= now
            assert alert.acknowledged_by_id == alert.case.primary_clinician_id
        if alert.status == "resolved":
            assert alert.acknowledged_at <= alert.resolved_at <= now
            assert alert.resolve_note and alert.resolved_by_id == alert.case.primary_clinician_id
        if alert.case.status == "closed":
            assert alert.status == "resolved"


def test_a_positive_suicide_risk_screen_is_acknowledged_with_a_note(seeded):
    suicide_risk = Alert.objects.filter(kind="suicide_risk").select_related("case")

    assert suicide_risk.exists()
    for alert in suicide_risk:
        assert alert.severity == "urgent"
        assert alert.status == "acknowledged"
        assert alert.acknowledge_note
        assert alert.acknowledged_by_id == alert.case.primary_clinician_id
        source = Assessment.objects.get(pk=alert.source_id)
        assert source.instrument == "phq9" and source.responses["q9"] > 0


def test_alerts_come_from_the_domain_rules_on_recent_records(seeded):
    """Every alert points at the record that raised it, and that record still warrants it."""
    from cases.models import ClinicalEvent

    sources = {
        "assessment": Assessment, "visit": Visit, "drugscreen": DrugScreen, "liverpanel": LiverPanel,
        "clinicalevent": ClinicalEvent,
    }  # fmt: skip
    for alert in Alert.objects.exclude(source_type=""):
        record = sources[alert.source_type].objects.get(pk=alert.source_id)
        assert record.case_id == alert.case_id
    assert Alert.objects.filter(kind="fentanyl_positive").count() >= 1
    assert Alert.objects.filter(kind="liver_injury").exists()


def test_the_summary_counts_the_clinical_record(seeded):
    for label in ("drug screens", "liver panels", "medications", "plan goals", "alerts raised", "on record"):
        assert label in seeded
    assert "open " in seeded


# --- Reproducibility. ---


def rows_digest(rows: DemoRows, names: dict[object, str]) -> str:
    digest = hashlib.sha256()
    for model, objects in rows.in_insert_order():
        for obj in objects:
            values = {
                field.attname: getattr(obj, field.attname)
                for field in model._meta.concrete_fields
                if not field.primary_key and not field.attname.endswith("_id")
            }
            owner = getattr(obj, "clinician_id", None) or getattr(obj, "by_id", None)
            digest.update(repr((model.__name__, sorted(values.items()), names.get(owner))).encode())
    return digest.hexdigest()


def test_the_generator_depends_only_on_its_seed_and_day():
    users = {m.username: User(username=m.username) for m in demo_data.DEMO_STAFF}
    names = {user.pk: username for username, user in users.items()}
    staff = DemoStaff.from_users(users)
    tz = ZoneInfo("America/Chicago")

    def build(seed: int, today: dt.date) -> str:
        generator = DemoGenerator(seed=seed, today=today, tz=tz, staff=staff)
        return "".join(rows_digest(rows, names) for rows in generator.batches(25, batch_size=10))

    assert build(3, dt.date(2026, 3, 2)) == build(3, dt.date(2026, 3, 2))
    assert build(3, dt.date(2026, 3, 2)) != build(4, dt.date(2026, 3, 2))


def test_a_small_quota_still_names_every_label_once():
    assert sorted(quota(5, {"a": 90, "b": 5, "c": 5})) == ["a", "a", "a", "b", "c"]
    assert quota(2, {"a": 1, "b": 1, "c": 1}) == ["a", "b"]


# --- Issue 11: SOWS, clinical events and the new alert kinds in the demo. ---


def test_the_demo_has_sows_taken_with_cows(seeded):
    from cases.models import Assessment

    sows = Assessment.objects.filter(instrument="sows")
    assert sows.exists()
    assert all(0 <= a.total <= 64 and a.band is None for a in sows)
    assert all(a.case.assessments.filter(instrument="cows").exists() for a in sows[:10])
    assert "sows" in seeded


def test_the_demo_records_a_seizure_and_an_overdose_with_naloxone_and_their_urgent_alerts(seeded):
    from cases.models import ClinicalEvent

    seizure = ClinicalEvent.objects.filter(kind="seizure").first()
    overdose = ClinicalEvent.objects.filter(kind="overdose").first()
    assert seizure is not None and overdose is not None
    assert overdose.naloxone_given is True and seizure.naloxone_given is None
    assert ClinicalEvent.objects.filter(kind="emergency_visit").exists()
    for event in (seizure, overdose):
        assert event.case.opened_on <= event.occurred_on <= timezone.localdate()
        alert = Alert.objects.get(kind=event.kind, case=event.case)
        assert alert.severity == "urgent"
        assert alert.evidence.filter(source_type="clinicalevent", source_id=event.pk).exists()
    assert "clinical events" in seeded
