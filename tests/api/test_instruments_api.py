"""The instrument registry over the API (SPEC sections 4 and 10): who may read it, the published items, values
and bands, and forms built from it that the server accepts."""

import pytest

from cases.instruments import INSTRUMENTS
from cases.models import Assessment

LIST_URL = "/api/v1/instruments/"
CODES = ["dsm5_sud", "cows", "sows", "phq9", "gad7"]
DSM5_ITEMS = [
    "larger_longer", "cut_down", "time_spent", "craving", "role_failure", "social_problems", "activities_given_up",
    "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
]  # fmt: skip
# SPEC section 4: the only values each COWS item accepts.
COWS_VALUES = {
    "pulse": [0, 1, 2, 4],
    "sweating": [0, 1, 2, 3, 4],
    "restlessness": [0, 1, 3, 5],
    "pupil_size": [0, 1, 2, 5],
    "bone_joint_aches": [0, 1, 2, 4],
    "runny_nose_tearing": [0, 1, 2, 4],
    "gi_upset": [0, 1, 2, 3, 5],
    "tremor": [0, 1, 2, 4],
    "yawning": [0, 1, 2, 4],
    "anxiety_irritability": [0, 1, 2, 4],
    "gooseflesh": [0, 3, 5],
}
# (item codes, each item's values, bands as (code, low, high), max total), SPEC sections 4 and 10.
PUBLISHED = {
    "dsm5_sud": (
        DSM5_ITEMS,
        {code: [False, True] for code in DSM5_ITEMS},
        [("none", 0, 1), ("mild", 2, 3), ("moderate", 4, 5), ("severe", 6, 11)],
        11,
    ),
    "cows": (
        list(COWS_VALUES),
        COWS_VALUES,
        [
            ("none", 0, 4),
            ("mild", 5, 12),
            ("moderate", 13, 24),
            ("moderately_severe", 25, 36),
            ("severe", 37, 48),
        ],
        48,
    ),
    "sows": ([f"q{i}" for i in range(1, 17)], {f"q{i}": [0, 1, 2, 3, 4] for i in range(1, 17)}, [], 64),
    "phq9": (
        [f"q{i}" for i in range(1, 10)],
        {f"q{i}": [0, 1, 2, 3] for i in range(1, 10)},
        [
            ("minimal", 0, 4),
            ("mild", 5, 9),
            ("moderate", 10, 14),
            ("moderately_severe", 15, 19),
            ("severe", 20, 27),
        ],
        27,
    ),
    "gad7": (
        [f"q{i}" for i in range(1, 8)],
        {f"q{i}": [0, 1, 2, 3] for i in range(1, 8)},
        [("minimal", 0, 4), ("mild", 5, 9), ("moderate", 10, 14), ("severe", 15, 21)],
        21,
    ),
}
KEYS = {
    "code", "name", "reference", "scoring", "max_total", "items", "bands", "withdrawn", "exclusions",
    "diagnosis_codes", "notes",
}  # fmt: skip


def detail_url(code: str) -> str:
    return f"/api/v1/instruments/{code}/"


@pytest.mark.parametrize("url", [LIST_URL, detail_url("cows")], ids=["list", "detail"])
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("anonymous", 401),
        ("front_desk", 403),
        ("administrator", 403),
        ("clinician", 200),
        ("supervisor", 200),
    ],
)
def test_role_gets_the_expected_status(as_user, role, url, expected):
    response = as_user(role).get(url)

    assert response.status_code == expected


def test_the_list_holds_every_instrument_in_order_paginated(as_user):
    body = as_user("clinician").get(LIST_URL).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5
    assert [row["code"] for row in body["results"]] == CODES
    assert all(set(row) == KEYS for row in body["results"])


@pytest.mark.parametrize("code", CODES)
def test_each_instrument_publishes_its_items_values_bands_and_max_total(as_user, code):
    item_codes, values, bands, max_total = PUBLISHED[code]

    body = as_user("clinician").get(detail_url(code)).json()

    counted = [item for item in body["items"] if item["counted"]]
    assert [item["code"] for item in counted] == item_codes
    assert {item["code"]: [c["value"] for c in item["choices"]] for item in counted} == values
    assert all(choice["label"] for item in body["items"] for choice in item["choices"])
    assert all(item["label"] for item in body["items"])
    assert [(band["code"], band["low"], band["high"]) for band in body["bands"]] == bands
    assert body["max_total"] == max_total
    assert body["name"]


def test_the_dsm5_checklist_publishes_its_diagnosis_codes_and_no_supervision_box(as_user):
    body = as_user("clinician").get(detail_url("dsm5_sud")).json()

    assert "under_medical_supervision" not in [item["code"] for item in body["items"]]
    assert list(body["withdrawn"]) == ["under_medical_supervision"]
    assert body["exclusions"] == {}  # deprecated, kept for clients that read it
    assert body["diagnosis_codes"] == {"mild": "F19.10", "moderate": "F19.20", "severe": "F19.20"}
    assert body["scoring"] == "count_true"


def test_booleans_stay_booleans_and_scores_stay_integers(as_user):
    client = as_user("clinician")

    dsm5 = client.get(detail_url("dsm5_sud")).json()
    cows = client.get(detail_url("cows")).json()

    assert {type(c["value"]) for item in dsm5["items"] for c in item["choices"]} == {bool}
    assert {type(c["value"]) for item in cows["items"] for c in item["choices"]} == {int}


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("pick", [0, -1], ids=["first-choices", "last-choices"])
def test_a_form_built_from_the_registry_is_accepted_and_scored(as_user, clinic, code, pick):
    """What a client builds from `instruments/` the server records, with the total the registry implies."""
    client = as_user("clinician")
    definition = client.get(detail_url(code)).json()
    responses = {
        item["code"]: item["choices"][pick]["value"] for item in definition["items"] if item["required"]
    }

    response = client.post(
        "/api/v1/assessments/",
        {"case": str(clinic.own_case.pk), "instrument": code, "responses": responses},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["total"] == (0 if pick == 0 else definition["max_total"])
    band = definition["bands"][pick]["code"] if definition["bands"] else None
    assert response.json()["band"] == band
    assert Assessment.objects.get().instrument == code


@pytest.mark.parametrize("code", ["nope", "COWS", "phq-9", "0"])
def test_an_unknown_instrument_is_a_json_404(as_user, code):
    response = as_user("clinician").get(detail_url(code))

    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", [LIST_URL, detail_url("cows")])
def test_the_registry_is_read_only(as_user, method, url):
    response = getattr(as_user("supervisor"), method)(url, {"code": "cows"}, format="json")

    assert response.status_code == 405
    assert INSTRUMENTS["cows"].max_total == 48


@pytest.mark.parametrize("url", [LIST_URL, detail_url("cows")], ids=["list", "detail"])
def test_reading_the_registry_costs_one_query(as_user, url, django_assert_num_queries):
    client = as_user("clinician")

    with django_assert_num_queries(1):  # the user's roles; the registry is code
        client.get(url)
