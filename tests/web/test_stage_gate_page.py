"""The stage gate on the chart (SPEC 3.3, 5): a move to recovery or discharge lists the case's unresolved urgent
alerts and asks for a confirmation; without it the service's 409 comes back on the form, with it the case moves
and the audit names the alerts passed over."""

import pytest

from cases.models import Case
from cases.services.alerts import alert_raise
from clinic.models import AuditEvent
from tests.factories import case_in_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def treated(clinician, supervisor):
    return case_in_stage(Case.Stage.TREATMENT, actor=supervisor, primary_clinician=clinician)


@pytest.fixture
def seizure(treated):
    return alert_raise(
        case=treated, kind="seizure", severity="urgent", message="Seizure on 2026-12-01 (related to kratom)."
    )


def transition_url(case) -> str:
    return f"/cases/{case.pk}/transition/"


def test_the_chart_lists_the_urgent_alerts_on_the_moves_that_end_treatment(
    signed_in, clinician, treated, seizure
):
    page = signed_in(clinician).get(f"/patients/{treated.patient_id}/").content.decode()

    assert page.count("urgent alert still unresolved on this case") == 2  # recovery and discharge
    assert 'name="confirm_open_alerts"' in page
    assert f'href="#alert-{seizure.pk}"' in page


def test_without_urgent_alerts_the_chart_asks_nothing(signed_in, clinician, treated):
    page = signed_in(clinician).get(f"/patients/{treated.patient_id}/").content.decode()

    assert "confirm_open_alerts" not in page


def test_an_unconfirmed_move_is_a_409_showing_the_alerts_and_the_case_stays(
    signed_in, clinician, treated, seizure, htmx
):
    response = signed_in(clinician).post(
        transition_url(treated), {"to_stage": "recovery", "version": treated.version}, headers=htmx
    )

    assert response.status_code == 409
    content = response.content.decode()
    assert "1 urgent alert unresolved on this case: Seizure (open)" in content
    assert seizure.message in content
    assert 'name="confirm_open_alerts"' in content
    assert "out of date" not in content  # not the stale-chart conflict
    treated.refresh_from_db()
    assert treated.stage == "treatment"


def test_a_confirmed_discharge_closes_the_case_and_is_audited(signed_in, clinician, treated, seizure):
    response = signed_in(clinician).post(
        transition_url(treated),
        {
            "to_stage": "discharged", "version": treated.version, "discharge_reason": "transferred",
            "confirm_open_alerts": "on",
        },
    )  # fmt: skip

    assert response.status_code == 302
    treated.refresh_from_db()
    assert (treated.stage, treated.status) == ("discharged", "closed")
    event = AuditEvent.objects.filter(action="transition", object_id=str(treated.pk)).latest("id")
    assert event.detail["confirmed_open_urgent_alerts"] == [{"id": str(seizure.pk), "kind": "seizure"}]


def test_an_alert_raised_after_the_chart_was_read_still_stops_the_move(signed_in, clinician, treated):
    client = signed_in(clinician)
    client.get(f"/patients/{treated.patient_id}/")  # no urgent alert then: no confirmation asked
    alert_raise(case=treated, kind="overdose", severity="urgent", message="Overdose on 2026-12-02.")

    response = client.post(transition_url(treated), {"to_stage": "recovery", "version": treated.version})

    assert response.status_code == 409
    assert "Overdose on 2026-12-02." in response.content.decode()
    treated.refresh_from_db()
    assert treated.stage == "treatment"
