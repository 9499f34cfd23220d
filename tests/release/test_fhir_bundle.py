"""The FHIR R4 Bundle of a release: valid against the fhir.resources models, labelled, and only what was chosen."""

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from cases.release import codes
from cases.release.fhir_bundle import fhir_bundle, fhir_bundle_bytes, fhir_json
from cases.release.selection import (
    ATTENDANCE,
    CATEGORIES,
    DEMOGRAPHICS,
    DIAGNOSES,
    VISIT_NOTES,
    release_selection,
)
from tests.factories import PatientFactory
from tests.release.conftest import ADDENDUM_TEXT, ALL_BUT_NOTES, NOTE_TEXT

pytestmark = pytest.mark.django_db

LABELS = {(system, code) for system, code, _ in codes.SECURITY_LABELS}


def build(patient, categories) -> tuple[bytes, dict]:
    document = fhir_bundle_bytes(
        release_selection(patient=patient, categories=categories), generated_at=timezone.now()
    )
    return document, json.loads(document)


def resources(bundle: dict, kind: str | None = None) -> list[dict]:
    found = [entry["resource"] for entry in bundle["entry"]]
    return [r for r in found if kind is None or r["resourceType"] == kind]


def codes_of(resource: dict) -> set[str]:
    return {c["code"] for c in resource["code"]["coding"]}


def decoded_attachments(bundle: dict) -> str:
    return "\n".join(
        base64.b64decode(content["attachment"]["data"]).decode()
        for document in resources(bundle, "DocumentReference")
        for content in document["content"]
    )


def test_a_rich_record_validates_against_the_fhir_models(rich):
    document, bundle = build(rich.patient, ALL_BUT_NOTES)

    parsed = Bundle.model_validate_json(document)

    assert parsed.type == "collection"
    kinds = {r["resourceType"] for r in resources(bundle)}
    assert kinds == {
        "Patient", "EpisodeOfCare", "Encounter", "Condition", "QuestionnaireResponse", "Observation",
        "MedicationStatement", "CarePlan", "Goal", "DocumentReference",
    }  # fmt: skip


def test_an_empty_record_validates_too(db):
    patient = PatientFactory()

    document, bundle = build(patient, CATEGORIES[:-1])

    Bundle.model_validate_json(document)
    assert [r["resourceType"] for r in resources(bundle)] == ["Patient"]


def test_the_bundle_and_every_resource_carry_the_part2_labels(rich):
    _, bundle = build(rich.patient, ALL_BUT_NOTES)

    for labelled in [bundle, *resources(bundle)]:
        found = {(c["system"], c["code"]) for c in labelled["meta"]["security"]}
        assert found == LABELS, labelled.get("resourceType")


def test_every_reference_resolves_inside_the_bundle(rich):
    for categories in (ALL_BUT_NOTES, {DIAGNOSES}, {VISIT_NOTES}, {ATTENDANCE}):
        _document, bundle = build(rich.patient, categories)
        addresses = {entry["fullUrl"] for entry in bundle["entry"]}
        references = [
            value
            for value in _walk(bundle)
            if isinstance(value, dict) and "reference" in value and isinstance(value["reference"], str)
        ]
        assert references
        assert {r["reference"] for r in references} <= addresses


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_patient_is_identified_by_mrn_with_the_clinics_system(rich):
    _, bundle = build(rich.patient, {DIAGNOSES})

    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"][0]["system"] == codes.MRN_SYSTEM
    assert patient["identifier"][0]["value"] == rich.patient.mrn
    assert "telecom" not in patient and "address" not in patient  # demographics not released


def test_demographics_bring_address_telecom_and_contact(rich):
    _, bundle = build(rich.patient, {DEMOGRAPHICS})

    (patient,) = resources(bundle, "Patient")
    assert patient["address"][0]["city"] == "Lawrence"
    assert {t["value"] for t in patient["telecom"]} == {"785-555-0100", "dana@example.org"}
    assert patient["contact"][0]["name"]["text"] == "Sam Whitfield"
    assert len(resources(bundle)) == 1


def contact_preferences(patient: dict) -> dict | None:
    found = [e for e in patient.get("extension", []) if e["url"] == codes.CONTACT_PREFERENCES_EXTENSION]
    return {part["url"]: part for part in found[0]["extension"]} if found else None


def recorded(patient, voicemail, text, preferred):
    patient.may_leave_voicemail, patient.may_text, patient.preferred_contact_method = (
        voicemail,
        text,
        preferred,
    )
    patient.save()
    return patient


def test_the_contact_preferences_rank_the_preferred_telecom_and_are_stated_in_an_extension(rich):
    raw, bundle = build(recorded(rich.patient, False, True, "text"), {DEMOGRAPHICS})

    Bundle.model_validate_json(raw)
    (patient,) = resources(bundle, "Patient")
    assert [(t["system"], t["value"], t.get("rank")) for t in patient["telecom"]] == [
        ("phone", "785-555-0100", None),
        ("sms", "785-555-0100", 1),  # texts allowed, and preferred
        ("email", "dana@example.org", None),
    ]
    preferences = contact_preferences(patient)
    assert (preferences["voicemail"]["valueBoolean"], preferences["text"]["valueBoolean"]) == (False, True)
    assert preferences["preferred"]["valueCoding"] == {
        "system": codes.CONTACT_METHOD_SYSTEM, "code": "text", "display": "Text message"
    }  # fmt: skip


def test_texts_not_asked_give_no_sms_point_and_no_answer(rich):
    _, bundle = build(recorded(rich.patient, True, None, "email"), {DEMOGRAPHICS})

    (patient,) = resources(bundle, "Patient")
    assert [(t["system"], t.get("rank")) for t in patient["telecom"]] == [("phone", None), ("email", 1)]
    preferences = contact_preferences(patient)
    assert set(preferences) == {"voicemail", "preferred"}  # texts: not asked, read as no
    assert preferences["voicemail"]["valueBoolean"] is True


def test_a_letter_preferred_is_in_the_extension_and_nothing_recorded_adds_none(rich):
    (patient,) = resources(build(recorded(rich.patient, None, False, "mail"), {DEMOGRAPHICS})[1], "Patient")
    assert contact_preferences(patient)["preferred"]["valueCoding"]["code"] == "mail"
    assert [t["system"] for t in patient["telecom"]] == ["phone", "email"]  # texts refused: no sms point
    assert all("rank" not in t for t in patient["telecom"])

    (patient,) = resources(build(recorded(rich.patient, None, None, ""), {DEMOGRAPHICS})[1], "Patient")
    assert contact_preferences(patient) is None
    (patient,) = resources(build(recorded(rich.patient, True, True, "phone"), {DIAGNOSES})[1], "Patient")
    assert "extension" not in patient and "telecom" not in patient  # no demographics released: no preferences


def test_each_case_is_an_episode_of_care_with_its_stage_and_history(rich):
    _, bundle = build(rich.patient, {ATTENDANCE})

    episodes = {r["id"]: r for r in resources(bundle, "EpisodeOfCare")}
    current = episodes[str(rich.current.pk)]
    assert current["status"] == "active"
    assert current["type"][0]["coding"][0] == {
        "system": codes.STAGE_SYSTEM,
        "code": "treatment",
        "display": "Treatment",
    }
    stages = [h["extension"][0]["valueCoding"]["code"] for h in current["statusHistory"]]
    assert stages == ["intake", "assessment", "treatment"]
    assert "end" not in current["statusHistory"][-1]["period"]
    assert episodes[str(rich.earlier.pk)]["status"] == "finished"


def test_attendance_is_one_encounter_per_attended_visit_without_note_text(rich):
    document, bundle = build(rich.patient, {ATTENDANCE})

    encounters = resources(bundle, "Encounter")
    assert len(encounters) == 2  # the no-show and the scheduled visit are not encounters
    assert {e["status"] for e in encounters} == {"finished"}
    assert not resources(bundle, "DocumentReference")
    assert not resources(bundle, "Observation")
    assert NOTE_TEXT.encode() not in document


def test_visit_notes_carry_the_note_addenda_and_vitals(rich):
    _, bundle = build(rich.patient, {VISIT_NOTES})

    text = decoded_attachments(bundle)
    assert NOTE_TEXT in text and ADDENDUM_TEXT in text
    (bp,) = [o for o in resources(bundle, "Observation") if "85354-9" in codes_of(o)]
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in bp["component"]}
    assert components == {"8480-6": 152, "8462-4": 94}
    assert bp["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    loinc = {code for o in resources(bundle, "Observation") for code in codes_of(o)}
    assert {"8867-4", "29463-7"} <= loinc
    assert "8480-6" not in loinc  # systolic only as a component of the panel


def test_the_diagnosis_is_an_icd10cm_condition(rich):
    _, bundle = build(rich.patient, {DIAGNOSES})

    (condition,) = resources(bundle, "Condition")
    assert condition["code"]["coding"][0] == {
        "system": codes.ICD10CM,
        "code": "F19.20",
        "display": "Other psychoactive substance dependence, uncomplicated",
    }
    assert "evidence" not in condition  # the checklist is not released, so nothing to point at
    assert not resources(bundle, "QuestionnaireResponse")


def test_assessments_are_responses_with_a_total_observation(rich):
    _, bundle = build(rich.patient, {"assessments"})

    responses = resources(bundle, "QuestionnaireResponse")
    assert str(rich.error_checklist.pk) not in {r["id"] for r in responses}
    assert len(responses) == 5  # PHQ-9, GAD-7, COWS, SOWS and the DSM-5 checklist
    totals = {
        next(iter(codes_of(o))): o["valueInteger"]
        for o in resources(bundle, "Observation")
        if o["category"][0]["coding"][0]["code"] == "survey"
    }
    assert totals == {
        "44261-6": 12,
        "70274-6": 7,
        "cows-total": 14,
        "sows-total": 20,
        "dsm5-sud-criteria-met": 4,
    }


def test_liver_panels_and_screens_are_coded_observations(rich):
    _, bundle = build(rich.patient, {"liver_panels", "drug_screens"})

    observations = resources(bundle, "Observation")
    alt = next(o for o in observations if "1742-6" in codes_of(o))
    assert alt["valueQuantity"] == {"value": 130.0, "unit": "U/L", "system": codes.UCUM, "code": "U/L"}
    assert alt["interpretation"][0]["coding"][0]["code"] == "H"
    assert {"1920-8", "6768-6", "1975-2"} <= {c for o in observations for c in codes_of(o)}
    mitragynine = next(o for o in observations if "mitragynine" in codes_of(o))
    assert mitragynine["valueCodeableConcept"]["coding"][0]["code"] == "10828004"
    assert not any("opioids" in codes_of(o) for o in observations)  # not tested: not reported


def test_the_treatment_plan_is_a_care_plan_with_its_goals(rich):
    _, bundle = build(rich.patient, {"treatment_plan", "medications"})

    (plan,) = resources(bundle, "CarePlan")
    goals = resources(bundle, "Goal")
    assert {g["lifecycleStatus"] for g in goals} == {"active", "completed"}
    assert {r["reference"] for r in plan["goal"]} == {f"urn:uuid:{g['id']}" for g in goals}
    (statement,) = resources(bundle, "MedicationStatement")
    assert statement["status"] == "active"
    assert statement["dosage"][0]["text"] == "8 mg/2 mg, once daily"


@pytest.mark.parametrize("category", CATEGORIES[:-1])
def test_a_category_alone_brings_nothing_of_the_others(rich, category):
    _, bundle = build(rich.patient, {category})
    kinds = {r["resourceType"] for r in resources(bundle)}

    expected = {
        "demographics": {"Patient"},
        "diagnoses": {"Patient", "EpisodeOfCare", "Condition"},
        "assessments": {"Patient", "EpisodeOfCare", "QuestionnaireResponse", "Observation"},
        "visit_notes": {"Patient", "EpisodeOfCare", "Encounter", "DocumentReference", "Observation"},
        "medications": {"Patient", "EpisodeOfCare", "MedicationStatement"},
        "drug_screens": {"Patient", "EpisodeOfCare", "Observation"},
        "liver_panels": {"Patient", "EpisodeOfCare", "Observation"},
        "treatment_plan": {"Patient", "EpisodeOfCare", "CarePlan", "Goal"},
        "attendance": {"Patient", "EpisodeOfCare", "Encounter"},
    }[category]
    assert kinds == expected


def test_the_selection_reads_a_fixed_number_of_queries(rich, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        selection = release_selection(patient=rich.patient, categories=ALL_BUT_NOTES)
        fhir_bundle_bytes(selection, generated_at=timezone.now())


def test_bundle_datetimes_carry_their_offset(rich):
    _, bundle = build(rich.patient, {ATTENDANCE})

    start = resources(bundle, "Encounter")[0]["period"]["start"]
    assert dt.datetime.fromisoformat(start).utcoffset() is not None


def test_the_fast_serializer_writes_what_the_library_writes(rich):
    selection = release_selection(patient=rich.patient, categories=ALL_BUT_NOTES)
    bundle = fhir_bundle(selection, generated_at=timezone.now())

    assert json.loads(fhir_json(bundle)) == json.loads(bundle.model_dump_json())
