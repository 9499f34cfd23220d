"""The case's remission through the API (SPEC sections 4 and 10): checklists recorded through the API, the case
read back with `remission`, `remission_assessed_on` and `remission_questioned_by`, for the roles that may see
them and not for the others."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.measures import add_months
from cases.models import Case
from tests.report_builders import MET, checklist, episode, local

D = dt.date(2025, 1, 15)
RECOVERED = ((Case.Stage.ASSESSMENT, dt.date(2024, 1, 5)), (Case.Stage.TREATMENT, dt.date(2024, 2, 1)),
             (Case.Stage.RECOVERY, dt.date(2024, 12, 1)))  # fmt: skip
REMISSION_KEYS = {"remission", "remission_assessed_on", "remission_questioned_by"}


@pytest.fixture
def case(clinician):
    return episode(dt.date(2024, 1, 1), *RECOVERED, primary=clinician)


def record_checklist(client, case, day, responses):
    response = client.post(
        "/api/v1/assessments/",
        {"case": str(case.pk), "instrument": "dsm5_sud", "responses": responses,
         "administered_at": local(day).isoformat()},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    return response.json()


def read(client, case):
    response = client.get(f"/api/v1/cases/{case.pk}/")
    assert response.status_code == 200
    return response.json()


def test_a_single_moderate_checklist_followed_by_nothing_reads_no_remission(as_user, case):
    client = as_user("clinician")
    record_checklist(client, case, D, MET)

    body = read(client, case)

    assert (body["remission"], body["remission_assessed_on"], body["remission_questioned_by"]) == (
        None,
        None,
        None,
    )


def test_only_hazardous_use_ever_met_reads_no_remission_a_year_later(as_user, case):
    client = as_user("clinician")
    record_checklist(client, case, D, checklist(hazardous_use=True))
    record_checklist(client, case, add_months(D, 13), checklist())

    assert read(client, case)["remission"] is None


@pytest.mark.parametrize(
    ("months", "expected"), [(3, "early"), (12, "sustained")], ids=["exactly-3-months", "exactly-12-months"]
)
def test_checklists_recorded_through_the_api_give_the_remission(as_user, case, months, expected):
    client = as_user("clinician")
    record_checklist(client, case, D, MET)
    record_checklist(client, case, add_months(D, months) - dt.timedelta(days=1), checklist(craving=True))
    assert read(client, case)["remission"] == ("early" if months == 12 else None)

    record_checklist(client, case, add_months(D, months), checklist(craving=True))
    body = read(client, case)

    assert body["remission"] == expected
    assert body["remission_assessed_on"] == add_months(D, months).isoformat()
    assert body["remission_questioned_by"] is None


def test_a_fentanyl_positive_screen_today_questions_the_remission(as_user, case):
    client = as_user("clinician")
    record_checklist(client, case, D, MET)
    record_checklist(client, case, add_months(D, 12), checklist())
    today = timezone.localdate()
    screen = client.post(
        "/api/v1/drug-screens/",
        {"case": str(case.pk), "collected_on": today.isoformat(), "results": {"fentanyl": "positive"}},
        format="json",
    )
    assert screen.status_code == 201, screen.json()

    body = read(client, case)

    assert body["remission"] == "sustained"
    assert body["remission_questioned_by"] == {
        "type": "drug_screen",
        "id": screen.json()["id"],
        "on": today.isoformat(),
    }


def test_the_list_carries_the_same_fields(as_user, case, clinician):
    client = as_user("clinician")
    record_checklist(client, case, D, MET)
    record_checklist(client, case, add_months(D, 4), checklist())

    rows = client.get("/api/v1/cases/", {"patient": str(case.patient_id)}).json()["results"]

    assert [(r["remission"], r["remission_assessed_on"]) for r in rows] == [
        ("early", add_months(D, 4).isoformat())
    ]


def test_supervisors_read_the_remission_of_any_case(as_user, case):
    record_checklist(as_user("clinician"), case, D, MET)
    record_checklist(as_user("clinician"), case, add_months(D, 4), checklist())

    assert read(as_user("supervisor"), case)["remission"] == "early"


def test_front_desk_reads_the_case_without_its_remission(as_user, case):
    body = read(as_user("front_desk"), case)

    assert not REMISSION_KEYS & set(body)


def test_administrators_are_refused_the_case(as_user, case):
    assert as_user("administrator").get(f"/api/v1/cases/{case.pk}/").status_code == 403


def test_a_clinician_outside_the_caseload_gets_404(as_user, case, other_clinician):
    assert as_user(other_clinician).get(f"/api/v1/cases/{case.pk}/").status_code == 404


def test_anonymous_gets_401(as_user, case):
    assert as_user("anonymous").get(f"/api/v1/cases/{case.pk}/").status_code == 401


def test_the_schema_describes_the_remission_fields(as_user):
    schema = as_user("clinician").get("/api/schema/", {"format": "json"}).json()
    case = schema["components"]["schemas"]["Case"]["properties"]

    assert set(case) >= REMISSION_KEYS


# --- The suggested ICD-10-CM code on the case (SPEC section 4) ---


@pytest.mark.parametrize(
    ("established", "after", "code"),
    [
        (checklist(cut_down=True, craving=True), None, "F19.10"),
        (checklist(cut_down=True, craving=True), checklist(craving=True), "F19.11"),
        (MET, None, "F19.20"),
        (MET, checklist(), "F19.21"),
        (checklist(hazardous_use=True), checklist(), None),
    ],
)
def test_the_case_suggests_the_code_of_its_establishing_severity_and_remission(
    as_user, case, established, after, code
):
    client = as_user("clinician")
    record_checklist(client, case, D, established)
    if after is not None:
        record_checklist(client, case, add_months(D, 12), after)

    assert read(client, case)["diagnosis_code"] == code


def test_tolerance_and_withdrawal_on_buprenorphine_are_moderate_not_mild(as_user, case):
    client = as_user("clinician")
    on_buprenorphine = checklist(cut_down=True, craving=True, tolerance=True, withdrawal=True)

    recorded = record_checklist(client, case, D, on_buprenorphine)

    assert (recorded["band"], recorded["diagnosis_code"]) == ("moderate", "F19.20")
    assert read(client, case)["diagnosis_code"] == "F19.20"


def test_a_client_sending_the_supervision_box_gets_a_400_naming_it(as_user, case):
    response = as_user("clinician").post(
        "/api/v1/assessments/",
        {"case": str(case.pk), "instrument": "dsm5_sud", "responses": {**MET, "under_medical_supervision": True},
         "administered_at": local(D).isoformat()},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert "responses.under_medical_supervision" in str(response.json())
    assert not case.assessments.exists()
