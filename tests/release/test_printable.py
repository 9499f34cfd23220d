"""The printable summary: the same records as the FHIR Bundle, the Part 2 notice on every page, no inline code."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.utils import timezone

from cases.release.codes import PART2_NOTICE
from cases.release.fhir_bundle import fhir_bundle_bytes
from cases.release.printable import ReleaseFacts, printable_bytes
from cases.release.selection import ATTENDANCE, CATEGORIES, DEMOGRAPHICS, VISIT_NOTES, release_selection
from tests.factories import PatientFactory
from tests.release.conftest import ADDENDUM_TEXT, ALL_BUT_NOTES, NOTE_TEXT

pytestmark = pytest.mark.django_db

STYLESHEET = Path(__file__).resolve().parents[2] / "cases/static/cases/release/release.css"


def facts() -> ReleaseFacts:
    return ReleaseFacts(
        recipient_name="Dr. Lee, Lawrence Family Medicine",
        purpose="Treatment",
        basis="Consent",
        released_by="Casey Clinician",
        released_at=timezone.now(),
    )


def printable(patient, categories) -> str:
    selection = release_selection(patient=patient, categories=categories)
    return printable_bytes(selection, facts=facts(), stylesheet_url="https://clinic.example/r.css").decode()


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.records: set[str] = set()
        self.tags: list[str] = []
        self.inline_styles = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if attributes.get("data-record"):
            self.records.update(attributes["data-record"].split())
        if "style" in attributes or any(name.startswith("on") for name in attributes):
            self.inline_styles += 1


def inspect(html: str) -> _Inspector:
    inspector = _Inspector()
    inspector.feed(html)
    return inspector


@pytest.mark.parametrize(
    "categories",
    [ALL_BUT_NOTES, *({c} for c in CATEGORIES[:-1]), {ATTENDANCE, VISIT_NOTES}],
    ids=lambda c: "+".join(sorted(c)),
)
def test_the_printable_and_the_bundle_list_the_same_records(rich, categories):
    selection = release_selection(patient=rich.patient, categories=categories)
    bundle = json.loads(fhir_bundle_bytes(selection, generated_at=timezone.now()))
    html = printable_bytes(selection, facts=facts(), stylesheet_url="/r.css").decode()

    assert inspect(html).records == {entry["resource"]["id"] for entry in bundle["entry"]}


def test_the_notice_is_in_the_document_and_repeated_on_every_printed_page(rich):
    html = printable(rich.patient, ALL_BUT_NOTES)

    assert html.count(PART2_NOTICE) >= 2  # the page notice and the closing one
    assert re.search(r'<p class="part2-notice"[^>]*>' + re.escape(PART2_NOTICE), html)
    css = STYLESHEET.read_text()
    print_rules = css[css.index("@media print") :]
    assert re.search(r"\.part2-notice\s*\{[^}]*position:\s*fixed", print_rules)
    assert PART2_NOTICE in css[css.index("@page") : css.index("@media print")]


def test_the_document_has_no_inline_style_or_script(rich):
    html = printable(rich.patient, ALL_BUT_NOTES)
    inspector = inspect(html)

    assert "script" not in inspector.tags and "style" not in inspector.tags
    assert inspector.inline_styles == 0
    assert '<link rel="stylesheet" href="https://clinic.example/r.css">' in html


def test_no_note_text_unless_notes_are_released(rich):
    for categories in (ALL_BUT_NOTES - {VISIT_NOTES}, {ATTENDANCE}):
        html = printable(rich.patient, categories)
        assert NOTE_TEXT not in html and ADDENDUM_TEXT not in html
    html = printable(rich.patient, {VISIT_NOTES})
    assert NOTE_TEXT in html and ADDENDUM_TEXT in html
    assert "152/94 mmHg" in html


def test_demographics_only_when_released(rich):
    assert "dana@example.org" not in printable(rich.patient, {ATTENDANCE})
    assert "dana@example.org" in printable(rich.patient, {DEMOGRAPHICS})


def test_the_contact_preferences_print_with_the_demographics(rich):
    rich.patient.may_leave_voicemail, rich.patient.may_text, rich.patient.preferred_contact_method = (
        False,
        None,
        "mail",
    )
    rich.patient.save()

    html = printable(rich.patient, {DEMOGRAPHICS})
    assert "Prefers letter; No voicemail; Texts not asked: send none" in html
    assert "No voicemail" not in printable(rich.patient, {ATTENDANCE})


def test_the_release_facts_head_the_document(rich):
    html = printable(rich.patient, {ATTENDANCE})

    assert "Dr. Lee, Lawrence Family Medicine" in html
    assert rich.patient.mrn in html


def test_an_empty_record_prints_its_empty_sections(db):
    html = printable(PatientFactory(), CATEGORIES[:-1])

    assert "No attended visits." in html and "No medications recorded." in html
