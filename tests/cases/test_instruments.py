"""The instrument registry (SPEC section 4): items and allowed values as data, validation, totals, bands, codes."""

import pytest

from cases.errors import ValidationFailed
from cases.instruments import INSTRUMENTS, score_responses
from cases.instruments.scoring import validate_responses
from tests.factories import responses_totalling

DSM5_CRITERIA = (
    "larger_longer", "cut_down", "time_spent", "craving", "role_failure", "social_problems",
    "activities_given_up", "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
)  # fmt: skip

# SPEC section 4, "COWS item values (only these are valid)".
COWS_ALLOWED = {
    "pulse": (0, 1, 2, 4),
    "sweating": (0, 1, 2, 3, 4),
    "restlessness": (0, 1, 3, 5),
    "pupil_size": (0, 1, 2, 5),
    "bone_joint_aches": (0, 1, 2, 4),
    "runny_nose_tearing": (0, 1, 2, 4),
    "gi_upset": (0, 1, 2, 3, 5),
    "tremor": (0, 1, 2, 4),
    "yawning": (0, 1, 2, 4),
    "anxiety_irritability": (0, 1, 2, 4),
    "gooseflesh": (0, 3, 5),
}

# For each COWS item, an in-range number its scale skips.
COWS_GAPS = {
    "pulse": 3,
    "sweating": 5,
    "restlessness": 2,
    "pupil_size": 3,
    "bone_joint_aches": 3,
    "runny_nose_tearing": 3,
    "gi_upset": 4,
    "tremor": 3,
    "yawning": 3,
    "anxiety_irritability": 3,
    "gooseflesh": 1,
}


def errors_of(instrument: str, responses: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as excinfo:
        score_responses(instrument, responses)
    return excinfo.value.errors


def with_answer(instrument: str, item: str, value: object) -> dict[str, object]:
    """A valid zero-scoring response set with one item's answer replaced."""
    return {**responses_totalling(instrument, 0), item: value}


# --- The registry ---


@pytest.mark.parametrize(
    ("instrument", "items"),
    [
        ("dsm5_sud", DSM5_CRITERIA),
        ("cows", tuple(COWS_ALLOWED)),
        ("sows", tuple(f"q{i}" for i in range(1, 17))),
        ("phq9", tuple(f"q{i}" for i in range(1, 11))),
        ("gad7", tuple(f"q{i}" for i in range(1, 8))),
    ],
)
def test_each_instrument_declares_the_spec_item_codes_in_order(instrument, items):
    assert tuple(item.code for item in INSTRUMENTS[instrument].items) == items


def test_the_registry_holds_exactly_the_five_spec_instruments():
    assert set(INSTRUMENTS) == {"dsm5_sud", "cows", "sows", "phq9", "gad7"}


@pytest.mark.parametrize(("item", "allowed"), COWS_ALLOWED.items())
def test_each_cows_item_allows_exactly_the_published_values(item, allowed):
    assert INSTRUMENTS["cows"].item(item).allowed == allowed


@pytest.mark.parametrize(
    ("instrument", "allowed"),
    [("sows", (0, 1, 2, 3, 4)), ("phq9", (0, 1, 2, 3)), ("gad7", (0, 1, 2, 3)), ("dsm5_sud", (False, True))],
)
def test_every_item_of_a_uniform_scale_allows_the_same_values(instrument, allowed):
    assert {item.allowed for item in INSTRUMENTS[instrument].items} == {allowed}


# --- Totals and bands at every boundary, from real item responses ---


@pytest.mark.parametrize(
    ("instrument", "total", "band"),
    [
        ("cows", 0, "none"),
        ("cows", 4, "none"),
        ("cows", 5, "mild"),
        ("cows", 12, "mild"),
        ("cows", 13, "moderate"),
        ("cows", 24, "moderate"),
        ("cows", 25, "moderately_severe"),
        ("cows", 36, "moderately_severe"),
        ("cows", 37, "severe"),
        ("cows", 44, "severe"),  # 43 from ten items at their maximum leaves 1, which gooseflesh cannot give
        ("cows", 48, "severe"),
        ("phq9", 0, "minimal"),
        ("phq9", 4, "minimal"),
        ("phq9", 5, "mild"),
        ("phq9", 9, "mild"),
        ("phq9", 10, "moderate"),
        ("phq9", 14, "moderate"),
        ("phq9", 15, "moderately_severe"),
        ("phq9", 19, "moderately_severe"),
        ("phq9", 20, "severe"),
        ("phq9", 27, "severe"),
        ("gad7", 0, "minimal"),
        ("gad7", 4, "minimal"),
        ("gad7", 5, "mild"),
        ("gad7", 9, "mild"),
        ("gad7", 10, "moderate"),
        ("gad7", 14, "moderate"),
        ("gad7", 15, "severe"),
        ("gad7", 21, "severe"),
        ("dsm5_sud", 0, "none"),
        ("dsm5_sud", 1, "none"),
        ("dsm5_sud", 2, "mild"),
        ("dsm5_sud", 3, "mild"),
        ("dsm5_sud", 4, "moderate"),
        ("dsm5_sud", 5, "moderate"),
        ("dsm5_sud", 6, "severe"),
        ("dsm5_sud", 11, "severe"),
    ],
)
def test_responses_score_the_total_and_band_of_the_spec_table(instrument, total, band):
    responses = responses_totalling(instrument, total)

    clean, score = score_responses(instrument, responses)

    assert (score.total, score.band) == (total, band)
    assert clean == responses


@pytest.mark.parametrize("total", [0, 1, 16, 17, 32, 63, 64])
def test_sows_has_no_band_at_any_total(total):
    _, score = score_responses("sows", responses_totalling("sows", total))

    assert (score.total, score.band, score.diagnosis_code) == (total, None, None)


@pytest.mark.parametrize(
    ("met", "band", "code"),
    [
        (0, "none", None),
        (1, "none", None),
        (2, "mild", "F19.10"),
        (3, "mild", "F19.10"),
        (4, "moderate", "F19.20"),
        (5, "moderate", "F19.20"),
        (6, "severe", "F19.20"),
        (11, "severe", "F19.20"),
    ],
)
def test_dsm5_checklist_suggests_the_icd10_code_of_its_severity(met, band, code):
    _, score = score_responses("dsm5_sud", responses_totalling("dsm5_sud", met))

    assert (score.total, score.band, score.diagnosis_code) == (met, band, code)


@pytest.mark.parametrize("instrument", ["cows", "phq9", "gad7"])
def test_only_the_dsm5_checklist_suggests_a_diagnosis_code(instrument):
    top = INSTRUMENTS[instrument].max_total

    _, score = score_responses(instrument, responses_totalling(instrument, top))

    assert score.diagnosis_code is None


# --- Published maxima ---

MAXIMA = [("cows", 48), ("sows", 64), ("phq9", 27), ("gad7", 21), ("dsm5_sud", 11)]


@pytest.mark.parametrize(("instrument", "maximum"), MAXIMA)
def test_instrument_declares_its_published_maximum(instrument, maximum):
    assert INSTRUMENTS[instrument].max_total == maximum


@pytest.mark.parametrize(("instrument", "maximum"), MAXIMA)
def test_every_item_at_its_highest_value_scores_the_published_maximum(instrument, maximum):
    definition = INSTRUMENTS[instrument]
    highest = {item.code: max(item.allowed) for item in definition.items if item.counted}

    _, score = score_responses(instrument, highest)

    assert score.total == maximum


# --- DSM-5: no medical-supervision exclusion for kratom (SPEC v2 section 4, DSM-5-TR) ---


def test_tolerance_and_withdrawal_always_count():
    responses = with_answer("dsm5_sud", "tolerance", True) | {
        "withdrawal": True,
        "cut_down": True,
        "craving": True,
    }

    _, score = score_responses("dsm5_sud", responses)

    # the vector: a patient on buprenorphine is moderate (F19.20), not mild (F19.10)
    assert (score.total, score.band, score.diagnosis_code) == (4, "moderate", "F19.20")


@pytest.mark.parametrize("value", [True, False])
def test_the_medical_supervision_box_is_refused_by_name(value):
    responses = responses_totalling("dsm5_sud", 4) | {"under_medical_supervision": value}

    with pytest.raises(ValidationFailed) as refused:
        score_responses("dsm5_sud", responses)

    assert list(refused.value.errors) == ["responses.under_medical_supervision"]
    assert (
        "not for other (kratom) substance use disorder"
        in refused.value.errors["responses.under_medical_supervision"][0]
    )


def test_the_checklist_declares_no_supervision_item():
    assert INSTRUMENTS["dsm5_sud"].item("under_medical_supervision") is None
    assert "under_medical_supervision" in INSTRUMENTS["dsm5_sud"].withdrawn


# --- Invalid values, each refused naming the item ---


@pytest.mark.parametrize(("item", "value"), COWS_GAPS.items())
def test_a_cows_value_outside_the_items_scale_is_refused_naming_the_item(item, value):
    errors = errors_of("cows", with_answer("cows", item, value))

    assert list(errors) == [f"responses.{item}"]
    allowed = ", ".join(str(v) for v in COWS_ALLOWED[item])
    assert errors[f"responses.{item}"] == [f"Not an allowed value; allowed: {allowed}."]


@pytest.mark.parametrize(
    ("instrument", "item", "value"),
    [
        # booleans where numbers are expected: True must not pass for 1, nor False for 0
        ("cows", "pulse", True),
        ("cows", "gooseflesh", False),
        ("sows", "q16", True),
        ("phq9", "q9", True),
        ("gad7", "q1", False),
        # numbers where yes/no is expected
        ("dsm5_sud", "craving", 1),
        ("dsm5_sud", "tolerance", 0),
        # strings
        ("phq9", "q1", "1"),
        ("dsm5_sud", "craving", "true"),
        ("dsm5_sud", "craving", "yes"),
        ("cows", "pulse", ""),
        # None
        ("phq9", "q3", None),
        ("dsm5_sud", "withdrawal", None),
        # negative and out of range
        ("gad7", "q7", -1),
        ("cows", "sweating", -4),
        ("phq9", "q2", 4),
        ("sows", "q1", 5),
        # other types
        ("phq9", "q1", 1.0),
        ("gad7", "q2", [1]),
        ("sows", "q3", {"value": 1}),
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_refused_naming_the_item(instrument, item, value):
    errors = errors_of(instrument, with_answer(instrument, item, value))

    assert list(errors) == [f"responses.{item}"]


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_a_missing_item_is_refused_naming_the_item(instrument):
    responses = responses_totalling(instrument, 0)
    missing = next(iter(responses))
    del responses[missing]

    errors = errors_of(instrument, responses)

    assert errors == {f"responses.{missing}": ["This item is required."]}


@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
def test_an_empty_response_set_names_every_required_item(instrument):
    errors = errors_of(instrument, {})

    assert set(errors) == {
        f"responses.{item.code}" for item in INSTRUMENTS[instrument].items if item.required
    }


@pytest.mark.parametrize(
    ("instrument", "extra"),
    [("phq9", "q11"), ("gad7", "q8"), ("sows", "q0"), ("cows", "heart_rate"), ("dsm5_sud", "severity")],
)
def test_an_item_the_instrument_does_not_have_is_refused_naming_it(instrument, extra):
    errors = errors_of(instrument, responses_totalling(instrument, 0) | {extra: 0})

    assert errors == {f"responses.{extra}": [f"Unknown item for {instrument}."]}


@pytest.mark.parametrize("field", ["total", "band"])
def test_a_client_cannot_send_the_total_or_band_among_the_responses(field):
    errors = errors_of("phq9", responses_totalling("phq9", 0) | {field: 27})

    assert list(errors) == [f"responses.{field}"]


def test_every_offending_item_is_named_at_once():
    responses = responses_totalling("cows", 0) | {"pulse": 3, "gooseflesh": True, "pallor": 1}
    del responses["tremor"]

    errors = errors_of("cows", responses)

    assert set(errors) == {"responses.pulse", "responses.gooseflesh", "responses.pallor", "responses.tremor"}


@pytest.mark.parametrize("responses", [None, [], [0] * 9, "q1=0", 0, True])
def test_responses_that_are_not_an_object_are_refused(responses):
    errors = errors_of("phq9", responses)

    assert errors == {"responses": ["Responses must be an object of item codes to values."]}


@pytest.mark.parametrize("instrument", ["audit_c", "PHQ9", "", "phq-9"])
def test_an_unknown_instrument_is_refused_naming_the_instrument(instrument):
    errors = errors_of(instrument, {})

    assert list(errors) == ["instrument"]


def test_validation_returns_the_responses_in_the_instruments_item_order():
    responses = dict(reversed(list(responses_totalling("gad7", 7).items())))

    clean = validate_responses(INSTRUMENTS["gad7"], responses)

    assert list(clean) == [f"q{i}" for i in range(1, 8)]
    assert clean == responses
