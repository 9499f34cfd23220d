"""The stage gate of issue 11 (SPEC 3.3, 5, 8): a move to recovery or discharge while urgent alerts are unresolved
answers 409 `open_urgent_alerts` naming them, unless the request confirms; the confirmed move is audited with the
alerts it passed over. Warnings and resolved alerts do not stop it; other moves are not gated."""

import pytest

from cases.models import Alert, Case, StageTransition
from cases.services.alerts import alert_acknowledge, alert_raise, alert_resolve
from clinic.models import AuditEvent
from tests.factories import case_in_stage

pytestmark = pytest.mark.django_db


def url(case) -> str:
    return f"/api/v1/cases/{case.pk}/transition/"


@pytest.fixture
def treated(clinician, supervisor):
    return case_in_stage(Case.Stage.TREATMENT, actor=supervisor, primary_clinician=clinician)


def raise_alert(case, kind="seizure", severity="urgent", message="Seizure on 2026-12-01: review today."):
    return alert_raise(case=case, kind=kind, severity=severity, message=message)


MOVES = [
    ({"to_stage": "recovery"}, Case.Stage.RECOVERY),
    ({"to_stage": "discharged", "discharge_reason": "transferred"}, Case.Stage.DISCHARGED),
]


@pytest.mark.parametrize(("body", "stage"), MOVES, ids=["recovery", "discharged"])
def test_a_move_past_unresolved_urgent_alerts_is_a_409_naming_them(as_user, treated, clinician, body, stage):
    seizure = raise_alert(treated)
    fentanyl = raise_alert(treated, "fentanyl_positive", message="Urine screen positive for fentanyl.")
    alert_acknowledge(alert=fentanyl, actor=clinician, note="Naloxone given.")
    raise_alert(treated, "elevated_bp", "warning", "Blood pressure 150/95.")
    history = StageTransition.objects.filter(case=treated).count()

    response = as_user("clinician").post(url(treated), body, format="json")

    assert response.status_code == 409
    answer = response.json()
    assert answer["code"] == "open_urgent_alerts"
    assert answer["alerts"] == [
        {"id": str(seizure.pk), "kind": "seizure", "message": seizure.message, "status": "open"},
        {
            "id": str(fentanyl.pk),
            "kind": "fentanyl_positive",
            "message": fentanyl.message,
            "status": "acknowledged",
        },
    ]
    assert "confirm_open_alerts" in answer and "2 urgent alerts" in answer["detail"]
    treated.refresh_from_db()
    assert (treated.stage, treated.status) == ("treatment", "open")
    assert StageTransition.objects.filter(case=treated).count() == history


@pytest.mark.parametrize(("body", "stage"), MOVES, ids=["recovery", "discharged"])
def test_a_confirmed_move_goes_through_and_its_audit_names_the_alerts(
    as_user, treated, clinician, body, stage
):
    seizure = raise_alert(treated)

    response = as_user("clinician").post(url(treated), {**body, "confirm_open_alerts": True}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["stage"] == stage
    event = AuditEvent.objects.filter(action="transition", object_id=str(treated.pk)).latest("id")
    assert (event.user_id, event.detail["to"]) == (clinician.pk, stage)
    assert event.detail["confirmed_open_urgent_alerts"] == [{"id": str(seizure.pk), "kind": "seizure"}]
    assert Alert.objects.get(pk=seizure.pk).status == "open"  # confirming is not resolving


@pytest.mark.parametrize("confirm", [False, True])
def test_warnings_and_resolved_urgent_alerts_do_not_stop_the_move(as_user, treated, clinician, confirm):
    raise_alert(treated, "elevated_bp", "warning", "Blood pressure 150/95.")
    alert_resolve(alert=raise_alert(treated), actor=clinician, note="Seen by neurology.")

    response = as_user("clinician").post(
        url(treated), {"to_stage": "recovery", "confirm_open_alerts": confirm}, format="json"
    )

    assert response.status_code == 201
    event = AuditEvent.objects.filter(action="transition", object_id=str(treated.pk)).latest("id")
    assert "confirmed_open_urgent_alerts" not in event.detail


def test_a_move_back_to_treatment_is_not_gated(as_user, clinician, supervisor):
    case = case_in_stage(Case.Stage.RECOVERY, actor=supervisor, primary_clinician=clinician)
    raise_alert(case, "overdose", message="Overdose on 2026-12-01.")

    response = as_user("clinician").post(
        url(case), {"to_stage": "treatment", "reason": "Overdose: back to treatment"}, format="json"
    )

    assert response.status_code == 201


def test_an_alert_on_another_case_of_the_patient_does_not_count(as_user, treated, clinician):
    from tests.factories import ClosedCaseFactory

    earlier = ClosedCaseFactory(patient=treated.patient, primary_clinician=clinician)
    Alert.objects.create(
        case=earlier, patient=earlier.patient, kind="seizure", severity="urgent", message="Old.",
        raised_at=earlier.created_at,
    )  # fmt: skip

    assert as_user("clinician").post(url(treated), {"to_stage": "recovery"}, format="json").status_code == 201


def test_the_stale_version_conflict_has_its_own_code(as_user, treated):
    response = as_user("clinician").post(
        url(treated), {"to_stage": "recovery", "version": treated.version - 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "concurrent_change"


@pytest.mark.parametrize("value", ["maybe", None, [True]])
def test_a_confirmation_that_is_not_a_boolean_is_a_400_naming_it(as_user, treated, value):
    raise_alert(treated)

    response = as_user("clinician").post(
        url(treated), {"to_stage": "recovery", "confirm_open_alerts": value}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["confirm_open_alerts"]


@pytest.mark.parametrize(
    ("role", "expected"), [("front_desk", 403), ("administrator", 403), ("anonymous", 401)]
)
def test_roles_that_may_not_change_the_stage_learn_nothing_of_the_alerts(as_user, treated, role, expected):
    raise_alert(treated)

    response = as_user(role).post(
        url(treated), {"to_stage": "recovery", "confirm_open_alerts": True}, format="json"
    )

    assert response.status_code == expected
    assert "alerts" not in response.json()
    treated.refresh_from_db()
    assert treated.stage == "treatment"


def test_a_clinician_outside_the_caseload_gets_404_not_the_alerts(as_user, other_clinician, supervisor):
    case = case_in_stage(Case.Stage.TREATMENT, actor=supervisor, primary_clinician=other_clinician)
    raise_alert(case)

    response = as_user("clinician").post(url(case), {"to_stage": "recovery"}, format="json")

    assert response.status_code == 404
    assert "alerts" not in response.json()
