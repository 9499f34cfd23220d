"""The alert rules of issue 11 through the pages: a note's vitals on clonidine (`alpha2_hypotension`), a screen or
a note in recovery (`return_to_use`), a COWS of 25 (urgent `withdrawal_moderate`), each on the chart after the
save, with its boundary on both sides."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import USUAL_SCREEN_PANEL, Alert, Case
from cases.services.clinical import medication_add
from tests.factories import AttendedVisitFactory, case_in_stage, responses_totalling

pytestmark = pytest.mark.django_db


def chart(client, case) -> str:
    return client.get(f"/patients/{case.patient_id}/").content.decode()


def note(**vitals) -> dict[str, object]:
    return {"subjective": "Feels dizzy on standing.", "bp_diastolic": "60", "heart_rate": "70", **vitals}


@pytest.mark.parametrize(
    ("vitals", "raised"),
    [
        ({"bp_systolic": "89"}, True),
        ({"bp_systolic": "90"}, False),
        ({"bp_systolic": "118", "heart_rate": "54"}, True),
        ({"bp_systolic": "118", "heart_rate": "55"}, False),
    ],
    ids=["systolic-89", "systolic-90", "heart-rate-54", "heart-rate-55"],
)
def test_a_note_with_low_vitals_on_clonidine_shows_the_warning_on_the_chart(
    signed_in, clinician, own_case, vitals, raised
):
    medication_add(
        case=own_case, actor=clinician,
        data={"medication": "clonidine", "dose": "0.1 mg", "frequency": "twice daily", "start_date": own_case.opened_on,
              "prescriber": "Dr. Reyes"},
    )  # fmt: skip
    visit = AttendedVisitFactory(case=own_case, clinician=clinician, subjective="")
    client = signed_in(clinician)

    response = client.post(reverse("visit-note", args=[visit.pk]), note(**vitals))

    assert response.status_code == 302
    alert = Alert.objects.filter(kind="alpha2_hypotension").first()
    assert (alert is not None) is raised
    if raised:
        page = chart(client, own_case)
        assert alert.message in page
        assert "Low blood pressure or heart rate on clonidine or lofexidine" in page


@pytest.fixture
def recovery_case(clinician, supervisor):
    return case_in_stage(Case.Stage.RECOVERY, actor=supervisor, primary_clinician=clinician)


@pytest.mark.parametrize(("mitragynine", "raised"), [("positive", True), ("negative", False)])
def test_a_screen_recorded_on_the_chart_in_recovery_raises_return_to_use(
    signed_in, clinician, recovery_case, mitragynine, raised
):
    client = signed_in(clinician)
    # The page asks a result for each analyte of the usual panel (the rest of the cup negative here).
    body = {
        "collected_on": timezone.localdate().isoformat(),
        **dict.fromkeys(USUAL_SCREEN_PANEL, "negative"),
        "mitragynine": mitragynine,
    }

    client.post(f"/cases/{recovery_case.pk}/drug-screens/new/", body)

    alert = Alert.objects.filter(kind="return_to_use").first()
    assert (alert is not None) is raised
    if raised:
        assert alert.message in chart(client, recovery_case)


@pytest.mark.parametrize(("grams", "raised"), [("0", False), ("1", True)])
def test_a_note_in_recovery_reporting_kratom_use_raises_return_to_use(
    signed_in, clinician, recovery_case, grams, raised
):
    visit = AttendedVisitFactory(
        case=recovery_case,
        clinician=clinician,
        subjective="",
        scheduled_at=timezone.now() + dt.timedelta(minutes=1),
    )

    signed_in(clinician).post(
        reverse("visit-note", args=[visit.pk]),
        {"subjective": "Used again at a party.", "kratom_daily_grams": grams},
    )

    assert Alert.objects.filter(kind="return_to_use").exists() is raised


@pytest.mark.parametrize(("total", "severity"), [(24, "warning"), (25, "urgent")])
def test_a_cows_recorded_on_the_page_raises_withdrawal_at_its_severity(
    signed_in, clinician, own_case, total, severity
):
    data = {code: str(value) for code, value in responses_totalling("cows", total).items()}
    data["administered_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    response = signed_in(clinician).post(reverse("assessment-record", args=[own_case.pk, "cows"]), data)

    assert response.status_code in (200, 302), response.content[:500]
    alert = Alert.objects.get(kind="withdrawal_moderate")
    assert alert.severity == severity
    assert f"COWS {total}" in chart(signed_in(clinician), own_case)
