"""PHQ-9's functional question `q10` (Kroenke 2001; SPEC section 4): optional, 0-3 with its labels, outside the
total; accepted by the API and the page, shown with the score on the chart; refused to roles that may not record."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Assessment

PHQ9 = {f"q{i}": 1 for i in range(1, 10)} | {"q9": 0}  # total 8, mild


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def post_phq9(user, case, responses):
    return api_as(user).post(
        "/api/v1/assessments/",
        {"case": str(case.pk), "instrument": "phq9", "responses": responses},
        format="json",
    )


@pytest.mark.parametrize("q10", [0, 1, 2, 3])
def test_the_api_accepts_q10_and_leaves_the_total_alone(clinician, own_case, q10):
    response = post_phq9(clinician, own_case, PHQ9 | {"q10": q10})

    assert response.status_code == 201, response.content
    assert (response.json()["total"], response.json()["band"], response.json()["responses"]["q10"]) == (
        8,
        "mild",
        q10,
    )
    assert Assessment.objects.get().responses["q10"] == q10


def test_q10_may_be_left_out(clinician, own_case):
    response = post_phq9(clinician, own_case, PHQ9)

    assert response.status_code == 201
    assert "q10" not in response.json()["responses"]


@pytest.mark.parametrize("q10", [4, -1, True, "2", None])
def test_an_off_scale_q10_is_a_400_naming_it(clinician, own_case, q10):
    response = post_phq9(clinician, own_case, PHQ9 | {"q10": q10})

    assert response.status_code == 400
    assert "responses.q10" in str(response.json())
    assert not Assessment.objects.exists()


def test_the_definition_publishes_q10_unscored_with_its_labels(clinician):
    body = api_as(clinician).get("/api/v1/instruments/phq9/").json()
    q10 = next(item for item in body["items"] if item["code"] == "q10")

    assert (q10["counted"], q10["required"]) == (False, False)
    assert [(c["value"], c["label"]) for c in q10["choices"]] == [
        (0, "Not difficult at all"), (1, "Somewhat difficult"), (2, "Very difficult"), (3, "Extremely difficult"),
    ]  # fmt: skip
    assert body["max_total"] == 27


@pytest.mark.parametrize(
    ("role", "status"), [("front_desk", 403), ("administrator", 403), ("other_clinician", 400)]
)
def test_roles_that_may_not_record_are_refused(request, own_case, role, status):
    response = post_phq9(request.getfixturevalue(role), own_case, PHQ9 | {"q10": 1})

    assert response.status_code == status  # another caseload's case is not a valid choice (hidden like a 404)
    assert not Assessment.objects.exists()


def test_the_page_records_q10_and_the_chart_shows_it_with_the_score(client, clinician, own_case):
    client.force_login(clinician)
    data = {code: str(value) for code, value in PHQ9.items()} | {
        "q10": "2",
        "administered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }

    form = client.get(reverse("assessment-record", args=[own_case.pk, "phq9"])).content.decode()
    response = client.post(reverse("assessment-record", args=[own_case.pk, "phq9"]), data)

    assert "<legend>Not scored</legend>" in form and 'name="q10"' in form
    assert response.status_code == 302
    saved = Assessment.objects.get()
    assert (saved.total, saved.responses["q10"]) == (8, 2)
    chart = client.get(f"/patients/{own_case.patient_id}/").content.decode()
    assert "<small data-unscored>Difficulty: Very difficult</small>" in chart


def test_front_desk_cannot_open_the_phq9_page(client, front_desk, own_case):
    client.force_login(front_desk)

    assert client.get(reverse("assessment-record", args=[own_case.pk, "phq9"])).status_code == 403
