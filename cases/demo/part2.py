"""Demo data for 42 CFR Part 2 (SPEC section 12): consents of each kind, a revocation, a year of disclosures, SUD
counseling notes, and accounting requests (one open, one late). Written through the services, so every row passes
the checks a real release does and is audited, on patients the generator already made."""

import datetime as dt
import random
from collections import Counter

from django.db.models import Max
from django.utils import timezone

from cases.models import Case, Patient
from cases.models.part2 import PART2_NOTICE
from cases.services.part2 import (
    accounting_request_record,
    consent_record,
    consent_revoke,
    counseling_note_write,
    disclosure_record,
)
from clinic.models import User
from clinic.roles import Role

PATIENTS = 12  # at most this many patients get consents (the first with a case, in MRN order)
FORM_VERSION = "KKRC-P2-2026-02"
DISCLOSER = "Kansas Kratom Recovery Clinic"
PROVIDERS = [
    ("Lawrence Family Medicine, Dr. Ada Reyes", "1112 W 6th St, Lawrence KS 66044"),
    ("Stormont Vail Primary Care, Dr. Omar Haddad", "1500 SW 10th Ave, Topeka KS 66604"),
    ("Douglas County Drug Court", "111 E 11th St, Lawrence KS 66044"),
    ("Blue Cross Blue Shield of Kansas", "1133 SW Topeka Blvd, Topeka KS 66629"),
]
NOTE_LINES = [
    "Talked through the argument with her sister and the urge to use afterwards; named it without acting on it.",
    "Explored grief over his father's death and how the powder numbed it; tearful, engaged.",
    "Discussed shame about relapse in March; reframed as information, not failure.",
]


def seed_part2(*, users: dict[str, User], today: dt.date, seed: int) -> Counter[str]:
    """Add the Part 2 records; returns what was made, by kind."""
    rng = random.Random(seed + 2)  # noqa: S311 (fictional data, seeded on purpose)
    tally: Counter[str] = Counter()
    roles = dict(users)
    front_desk = next(u for u in roles.values() if u.has_role(Role.FRONT_DESK))
    supervisor = next(u for u in roles.values() if u.has_role(Role.SUPERVISOR))
    administrator = next((u for u in roles.values() if u.has_role(Role.ADMINISTRATOR)), supervisor)
    # The longest-standing patients (by their latest case), so a year of releases fits after the consent's signing.
    patients = list(
        Patient.objects.filter(cases__isnull=False, entered_in_error=False)
        .annotate(latest_opened=Max("cases__opened_on"))
        .order_by("latest_opened", "mrn")[:PATIENTS]
    )
    tz = timezone.get_current_timezone()
    for index, patient in enumerate(patients):
        case = Case.objects.filter(patient=patient).order_by("-opened_on").first()
        if case is None:  # pragma: no cover (filtered on cases above)
            continue
        signed_on = max(case.opened_on, today - dt.timedelta(days=400))
        tpo = consent_record(
            actor=front_desk,
            patient=patient,
            data={
                "kind": "tpo",
                "discloser": DISCLOSER,
                "information": ["all_records"],
                "recipients": [
                    {
                        "name": "My treating providers, health plans, third-party payers, and people helping to "
                        "operate this program",
                        "is_class": True,
                        "covered_entity": True,
                    }
                ],
                "purposes": [],
                "signed_on": signed_on,
                "signer_name": f"{patient.first_name} {patient.last_name}",
                "signer_relationship": "self",
                "form_version": FORM_VERSION,
            },
        )
        tally["consent:tpo"] += 1
        provider, address = PROVIDERS[index % 2]
        specific = consent_record(
            actor=front_desk,
            patient=patient,
            data={
                "kind": "specific",
                "discloser": DISCLOSER,
                "information": ["diagnoses", "medications", "drug_screens", "attendance"],
                "recipients": [
                    {"name": provider, "covered_entity": True},
                    {"name": PROVIDERS[2][0], "covered_entity": False},
                ],
                "purposes": ["care_coordination", "legal"],
                "expires_on": today + dt.timedelta(days=365),
                "signed_on": signed_on,
                "signer_name": f"{patient.first_name} {patient.last_name}",
                "signer_relationship": "self",
                "form_version": FORM_VERSION,
            },
        )
        tally["consent:specific"] += 1
        # A year of releases: monthly attendance to the drug court, quarterly summaries to the provider.
        recipients = list(specific.recipients.all())
        first_day = max(signed_on + dt.timedelta(days=1), today - dt.timedelta(days=365))
        releases = []
        for month in range(12):
            day = first_day + dt.timedelta(days=30 * month + rng.randint(0, 5))
            if day >= today:
                break
            court = month % 3 != 0
            releases.append((day, recipients[1] if court else recipients[0], court))
        revoke_court_on = max(signed_on, today - dt.timedelta(days=45)) if index == 0 else None
        for day, recipient, court in releases:
            if revoke_court_on and court and day >= revoke_court_on:
                continue
            disclosure_record(
                supervisor,
                patient=patient,
                basis="consent",
                consent=specific,
                recipient=recipient,
                purpose="legal" if court else "care_coordination",
                categories=["attendance"] if court else ["diagnoses", "medications"],
                channel="fax" if court else "electronic",
                notice=PART2_NOTICE,
                recipient_address=PROVIDERS[2][1] if court else address,
                disclosed_at=timezone.make_aware(
                    dt.datetime.combine(day, dt.time(10, rng.randint(0, 59))), tz
                ),
            )
            tally["disclosure:consent"] += 1
        if revoke_court_on:
            consent_revoke(
                actor=front_desk,
                consent=specific,
                revoked_on=revoke_court_on,
                how="Signed revocation letter handed in at the front desk",
                recipient=recipients[1],
            )
            tally["revocation"] += 1
        if index == 1 and tpo.pk:
            consent_revoke(
                actor=front_desk,
                consent=tpo,
                revoked_on=max(signed_on, today - dt.timedelta(days=10)),
                how="Letter by mail",
            )
            tally["revocation"] += 1
        if index == 2:
            disclosure_record(
                supervisor,
                patient=patient,
                basis="medical_emergency",
                consent=None,
                recipient=None,
                purpose="treatment",
                categories=["medications", "diagnoses"],
                channel="phone",
                notice="",
                recipient_name="Dr. Lena Park, emergency physician",
                recipient_affiliation="LMH Health Emergency Department, Lawrence",
                basis_reason="Brought in unresponsive; treating team asked about buprenorphine and kratom use",
                disclosed_at=timezone.make_aware(
                    dt.datetime.combine(today - dt.timedelta(days=20), dt.time(2, 14)), tz
                ),
            )
            tally["disclosure:medical_emergency"] += 1
        if index == 3:
            disclosure_record(
                supervisor,
                patient=patient,
                basis="court_order",
                consent=None,
                recipient=None,
                purpose="legal",
                categories=["attendance"],
                channel="mail",
                notice=PART2_NOTICE,
                recipient_name="Clerk of the District Court, Douglas County",
                recipient_address=PROVIDERS[2][1],
                basis_reason="Order under 42 CFR 2.64, case 2026-CV-0412, signed by Judge Ames",
                disclosed_at=timezone.make_aware(
                    dt.datetime.combine(today - dt.timedelta(days=90), dt.time(14)), tz
                ),
            )
            tally["disclosure:court_order"] += 1
        if index < 3 and case.primary_clinician is not None:
            counselor = case.primary_clinician
            notes = [
                counseling_note_write(
                    actor=counselor,
                    case=case,
                    text=NOTE_LINES[index],
                    written_at=min(
                        timezone.make_aware(
                            dt.datetime.combine(
                                max(case.opened_on, today - dt.timedelta(days=14)), dt.time(15)
                            ),
                            tz,
                        ),
                        timezone.now() - dt.timedelta(minutes=5),
                    ),
                )
            ]
            tally["counseling_note"] += 1
            if index == 0:
                notes_consent = consent_record(
                    actor=front_desk,
                    patient=patient,
                    data={
                        "kind": "counseling_notes",
                        "discloser": DISCLOSER,
                        "information": ["counseling_notes"],
                        "recipients": [{"name": PROVIDERS[1][0], "covered_entity": True}],
                        "purposes": ["treatment"],
                        "expiration_event": "Transfer of care completed",
                        "signed_on": max(signed_on, today - dt.timedelta(days=3)),
                        "signer_name": f"{patient.first_name} {patient.last_name}",
                        "signer_relationship": "self",
                        "form_version": FORM_VERSION,
                    },
                )
                tally["consent:counseling_notes"] += 1
                disclosure_record(
                    counselor,
                    patient=patient,
                    basis="consent",
                    consent=notes_consent,
                    recipient=notes_consent.recipients.first(),
                    purpose="treatment",
                    categories=["counseling_notes"],
                    channel="electronic",
                    notice=PART2_NOTICE,
                    counseling_notes=notes,
                )
                tally["disclosure:consent"] += 1
    if patients:
        accounting_request_record(
            actor=administrator, patient=patients[0], requested_on=today - dt.timedelta(days=12)
        )
        accounting_request_record(
            actor=administrator, patient=patients[-1], requested_on=today - dt.timedelta(days=64)
        )
        tally["accounting_request"] += 2
    return tally
