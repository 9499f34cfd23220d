"""A first walk through the API as a clinician."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import Dsm5ChecklistFactory


@pytest.fixture
def api():
    return APIClient()


def test_clinician_registers_opens_and_moves_a_case(api, clinician):
    token = api.post(
        "/api/v1/auth/token/",
        {"username": "clinician", "password": "correct-horse-battery-staple"},
        format="json",
    )
    assert token.status_code == 200, token.content
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    me = api.get("/api/v1/me/")
    assert me.json()["roles"] == ["clinician"]

    created = api.post(
        "/api/v1/patients/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1985-12-10",
            "sex_at_birth": "female",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    patient_id = created.json()["id"]
    opened = api.post(
        "/api/v1/cases/",
        {"patient": patient_id, "referral_source": "self", "kratom_form": "powder"},
        format="json",
    )
    assert opened.status_code == 201, opened.content
    case = opened.json()
    assert case["primary_clinician"] == str(clinician.id)
    moved = api.post(f"/api/v1/cases/{case['id']}/transition/", {"to_stage": "assessment"}, format="json")
    assert moved.status_code == 201, moved.content
    refused = api.post(f"/api/v1/cases/{case['id']}/transition/", {"to_stage": "treatment"}, format="json")
    assert refused.status_code == 400, refused.content
    from cases.models import Case

    Dsm5ChecklistFactory(case=Case.objects.get(pk=case["id"]))
    moved = api.post(f"/api/v1/cases/{case['id']}/transition/", {"to_stage": "treatment"}, format="json")
    assert moved.status_code == 201, moved.content
    assert [h["to_stage"] for h in moved.json()["stage_history"]] == ["intake", "assessment", "treatment"]

    listing = api.get("/api/v1/patients/?search=lovel")
    assert listing.json()["count"] == 1
    assert listing.json()["results"][0]["current_case"]["stage"] == "treatment"

    visit = api.post(
        "/api/v1/visits/",
        {
            "case": case["id"],
            "clinician": str(clinician.id),
            "visit_type": "individual_counseling",
            "scheduled_at": timezone.localtime().isoformat(),  # the case opened today
        },
        format="json",
    )
    assert visit.status_code == 201, visit.content
    vid = visit.json()["id"]
    logged = api.patch(
        f"/api/v1/visits/{vid}/",
        {
            "status": "attended",
            "subjective": "Cravings down.",
            "craving": 3,
            "bp_systolic": 128,
            "bp_diastolic": 82,
        },
        format="json",
    )
    assert logged.status_code == 200, logged.content
    signed = api.post(f"/api/v1/visits/{vid}/sign/")
    assert signed.status_code == 200, signed.content
    locked = api.patch(f"/api/v1/visits/{vid}/", {"craving": 4}, format="json")
    assert locked.status_code == 409, locked.content
    add = api.post(f"/api/v1/visits/{vid}/addenda/", {"text": "Craving was 4, not 3."}, format="json")
    assert add.status_code == 201, add.content
    assert api.post("/api/v1/auth/logout/").status_code == 204
    assert api.get("/api/v1/me/").status_code == 401
