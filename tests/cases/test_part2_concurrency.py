"""Part 2 writes racing each other (PostgreSQL, real threads and row locks): a revocation and releases on the same
consent are serialized, so no release lands after the revocation that forbids it; two uploads of a consent's scan
leave exactly one file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.errors import Conflict, ValidationFailed
from cases.models import Consent, ConsentRevocation, Disclosure
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import consent_attach_document, consent_revoke, disclosure_record
from tests.cases.test_concurrency import run_together
from tests.factories import CaseFactory, make_consent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
N = 5


def test_releases_racing_a_revocation_land_before_it_or_are_refused(clinician, front_desk):
    case = CaseFactory(primary_clinician=clinician)
    consent = make_consent(actor=front_desk, patient=case.patient)
    recipient = consent.recipients.first()

    def load_consent() -> Consent:
        return Consent.objects.get(pk=consent.pk)

    def release(loaded: Consent) -> Disclosure:
        return disclosure_record(
            clinician, patient=case.patient, basis="consent", consent=loaded.pk, recipient=recipient.pk,
            purpose="legal", categories=["diagnoses"], channel="fax", notice=PART2_NOTICE,
        )  # fmt: skip

    def revoke(loaded: Consent) -> ConsentRevocation:
        return consent_revoke(actor=front_desk, consent=loaded, revoked_on=timezone.localdate(), how="Letter")

    outcomes = run_together([(load_consent, release)] * N + [(load_consent, revoke)])
    revocation = outcomes[-1]
    assert isinstance(revocation, ConsentRevocation), revocation
    for outcome in outcomes[:-1]:
        if isinstance(outcome, Disclosure):
            assert outcome.recorded_at < revocation.recorded_at
        else:
            assert isinstance(outcome, ValidationFailed), outcome
            assert "consent" in outcome.errors
    assert Disclosure.objects.filter(recorded_at__gt=revocation.recorded_at).count() == 0


def test_two_uploads_of_a_scan_leave_one_file(front_desk):
    consent = make_consent(actor=front_desk, patient=CaseFactory().patient)
    pdf = b"%PDF-1.4\n%%EOF\n"

    def load() -> Consent:
        return Consent.objects.get(pk=consent.pk)

    def upload(loaded: Consent) -> Consent:
        return consent_attach_document(
            actor=front_desk, consent=loaded, upload=SimpleUploadedFile("f.pdf", pdf)
        )

    outcomes = run_together([(load, upload)] * 2)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Consent"]
    assert any(isinstance(o, Conflict) for o in outcomes)
    stored = Consent.objects.get(pk=consent.pk)
    storage = stored.document.storage
    _, files = storage.listdir(f"consents/{consent.pk}")
    assert files == [stored.document.name.rsplit("/", 1)[-1]]
    stored.document.delete(save=False)
