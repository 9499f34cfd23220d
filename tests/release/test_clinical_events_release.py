"""Clinical events in a release (SPEC 3.6, 13): released with `diagnoses` (the problems and events on the record),
a seizure or an overdose as a Condition, an emergency visit or a hospitalization as an Encounter; the printable
summary lists the same; an event entered in error is never released."""

import datetime as dt
import json

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from cases.models import ClinicalEvent
from cases.release import codes
from cases.release.fhir_bundle import fhir_bundle_bytes
from cases.release.printable import printable_bytes
from cases.release.selection import DIAGNOSES, MEDICATIONS, release_selection
from cases.services.events import clinical_event_mark_entered_in_error, clinical_event_record
from tests.release.conftest import ALL_BUT_NOTES
from tests.release.test_printable import facts, inspect

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(rich, clinician):
    day = timezone.localdate() - dt.timedelta(days=2)

    def record(kind, **fields):
        data = {"kind": kind, "occurred_on": day, "description": f"The {kind}."} | fields
        return clinical_event_record(case=rich.current, actor=clinician, data=data)

    wrong = record("seizure", description="Typed on the wrong chart.")
    clinical_event_mark_entered_in_error(event=wrong, actor=clinician, reason="Wrong patient.")
    return {
        "seizure": record("seizure", related_to_kratom="yes"),
        "overdose": record("overdose", naloxone_given=True),
        "hospitalization": record("hospitalization"),
        "wrong": wrong,
    }


def build(rich, categories):
    selection = release_selection(patient=rich.patient, categories=categories)
    document = fhir_bundle_bytes(selection, generated_at=timezone.now())
    return selection, document, json.loads(document)


def by_id(bundle) -> dict[str, dict]:
    return {entry["resource"]["id"]: entry["resource"] for entry in bundle["entry"]}


def test_events_are_released_with_diagnoses_and_validate(rich, events):
    _, document, bundle = build(rich, {DIAGNOSES})

    Bundle.model_validate_json(document)
    resources = by_id(bundle)
    seizure, overdose, stay = (
        resources[str(events[k].pk)] for k in ("seizure", "overdose", "hospitalization")
    )
    assert (seizure["resourceType"], seizure["code"]["coding"][0]) == (
        "Condition",
        {"system": codes.CLINICAL_EVENT_SYSTEM, "code": "seizure", "display": "Seizure"},
    )
    assert seizure["onsetDateTime"] == str(events["seizure"].occurred_on)
    assert "Related to kratom: yes." in seizure["note"][0]["text"]
    assert "Naloxone given: yes." in overdose["note"][0]["text"]
    assert (stay["resourceType"], stay["class"]["code"], stay["status"]) == ("Encounter", "IMP", "finished")
    assert stay["episodeOfCare"][0]["reference"] == f"urn:uuid:{rich.current.pk}"


def test_an_event_entered_in_error_is_never_released(rich, events):
    _, document, bundle = build(rich, ALL_BUT_NOTES)

    assert str(events["wrong"].pk) not in by_id(bundle)
    assert b"Typed on the wrong chart." not in document


def test_events_are_not_released_without_diagnoses(rich, events):
    _, _, bundle = build(rich, {MEDICATIONS})

    assert not {str(e.pk) for e in events.values()} & set(by_id(bundle))


def test_the_printable_lists_the_same_events_as_the_bundle(rich, events):
    selection, _, bundle = build(rich, {DIAGNOSES})

    html = printable_bytes(selection, facts=facts(), stylesheet_url="/r.css").decode()

    assert inspect(html).records == set(by_id(bundle))
    assert "Overdose (naloxone given)" in html
    assert "Typed on the wrong chart." not in html
    assert ClinicalEvent.objects.count() == 4


def test_the_selection_with_events_still_reads_a_fixed_number_of_queries(
    rich, events, django_assert_max_num_queries
):
    with django_assert_max_num_queries(11):
        selection = release_selection(patient=rich.patient, categories=ALL_BUT_NOTES)
        fhir_bundle_bytes(selection, generated_at=timezone.now())
