"""A release as a FHIR R4 Bundle (`collection`), built with the fhir.resources models (SPEC section 13).

fhir.resources publishes FHIR R4B (4.3.0) as its R4-line models; every resource used here (Patient, EpisodeOfCare,
Encounter, Condition, QuestionnaireResponse, Observation, MedicationStatement, CarePlan, Goal, Consent,
DocumentReference) has the same structure in R4 (4.0.1) and R4B, so the JSON is valid R4 (docs/release.md).

Every resource and the Bundle carry the Part 2 security labels (`codes.SECURITY_LABELS`). Entries are addressed
as `urn:uuid:<id>` and references use those addresses, so every reference resolves inside the Bundle; the ids are
those of `cases.release.ids`.
"""

import base64
import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pydantic_core
from django.utils import timezone
from fhir.resources.R4B.address import Address
from fhir.resources.R4B.annotation import Annotation
from fhir.resources.R4B.attachment import Attachment
from fhir.resources.R4B.bundle import Bundle, BundleEntry
from fhir.resources.R4B.careplan import CarePlan, CarePlanActivity, CarePlanActivityDetail
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition, ConditionEvidence
from fhir.resources.R4B.consent import Consent, ConsentPolicy, ConsentProvision, ConsentProvisionActor
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.documentreference import (
    DocumentReference,
    DocumentReferenceContent,
    DocumentReferenceContext,
)
from fhir.resources.R4B.dosage import Dosage
from fhir.resources.R4B.duration import Duration
from fhir.resources.R4B.encounter import Encounter, EncounterParticipant
from fhir.resources.R4B.episodeofcare import EpisodeOfCare, EpisodeOfCareStatusHistory
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.goal import Goal, GoalTarget
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.meta import Meta
from fhir.resources.R4B.observation import Observation, ObservationComponent, ObservationReferenceRange
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.patient import PatientContact
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.questionnaireresponse import (
    QuestionnaireResponse,
    QuestionnaireResponseItem,
    QuestionnaireResponseItemAnswer,
)
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from cases.instruments.definitions import INSTRUMENTS
from cases.models import (
    ANALYTES,
    Assessment,
    Case,
    ClinicalEvent,
    DrugScreen,
    LiverPanel,
    Medication,
    Patient,
    TreatmentGoal,
    Visit,
)
from cases.release import codes, ids
from cases.release.notes import counseling_note_text, visit_note_text
from cases.release.selection import CATEGORY_LABELS, Diagnosis, ReleaseSelection

_STAGE_LABELS = dict(Case.Stage.choices)
_ANALYTE_LABELS = {
    "mitragynine": "Mitragynine",
    "seven_oh_mitragynine": "7-Hydroxymitragynine",
    "opioids": "Opioids",
    "fentanyl": "Fentanyl",
    "buprenorphine": "Buprenorphine",
    "methadone": "Methadone",
    "benzodiazepines": "Benzodiazepines",
    "amphetamines": "Amphetamines",
    "cocaine": "Cocaine",
    "cannabinoids": "Cannabinoids",
    "alcohol": "Alcohol (ethyl glucuronide)",
}
_SEVERITY_SNOMED = {
    "mild": ("255604002", "Mild"),
    "moderate": ("6736007", "Moderate"),
    "severe": ("24484000", "Severe"),
}
_BIRTH_SEX = {"female": "F", "male": "M", "unknown": "UNK"}
_US_CORE_BIRTHSEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_VIRTUAL_VISITS = {Visit.VisitType.TELEHEALTH, Visit.VisitType.PHONE_CHECKIN}
_GOAL_STATUS: dict[str, str] = {
    TreatmentGoal.Status.ACTIVE: "active",
    TreatmentGoal.Status.MET: "completed",
    TreatmentGoal.Status.REVISED: "cancelled",
    TreatmentGoal.Status.DISCONTINUED: "cancelled",
}

FHIR_CONTENT_TYPE = "application/fhir+json"


def urn(resource_id: object) -> str:
    return f"urn:uuid:{resource_id}"


def ref(resource_id: object, display: str | None = None) -> Reference:
    return Reference(reference=urn(resource_id), display=display)


# Codes, concepts and the security labels recur on every resource: each is validated once and shared (the models
# are never changed after they are built), which saves most of the validation a five-year record would cost.


@functools.lru_cache(maxsize=4096)
def coding(system: str, code: str, display: str | None = None) -> Coding:
    return Coding(system=system, code=code, display=display)


@functools.lru_cache(maxsize=4096)
def concept(system: str, code: str, display: str, text: str | None = None) -> CodeableConcept:
    return CodeableConcept(coding=[coding(system, code, display)], text=text or display)


@functools.cache
def security_meta() -> Meta:
    return Meta(security=[coding(system, code, display) for system, code, display in codes.SECURITY_LABELS])


@functools.lru_cache(maxsize=1024)
def by_name(display: str | None) -> Reference:
    """A person named only (staff are not resources of the release)."""
    return Reference(display=display)


def staff_name(user: Any) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


def instant(value: dt.datetime) -> dt.datetime:
    """Datetimes in the clinic's zone, as staff read them (the offset keeps them exact)."""
    return timezone.localtime(value)


def day(value: dt.date | None) -> Any:
    """A date where FHIR takes a dateTime (a date is a valid dateTime; the models' annotations say datetime)."""
    return value


class _Builder:
    """Collects the entries of one Bundle; one method per kind of record."""

    def __init__(self, selection: ReleaseSelection) -> None:
        self.selection = selection
        self.patient_id = str(selection.patient.pk)
        self.subject = ref(self.patient_id)
        self.entries: list[BundleEntry] = []

    def add(self, resource: Resource) -> None:
        self.entries.append(BundleEntry(fullUrl=urn(resource.id), resource=resource))

    # --- Patient and episodes of care ---

    def patient(self, patient: Patient) -> None:
        with_demographics = self.selection.has("demographics")
        names = [HumanName(use="official", family=patient.last_name, given=[patient.first_name])]
        fields: dict[str, Any] = {}
        if with_demographics:
            if patient.preferred_name:
                names.append(HumanName(use="usual", family=patient.last_name, given=[patient.preferred_name]))
            fields["telecom"] = contact_points(patient) or None
            lines: list[str | None] = [
                line for line in (patient.address_line1, patient.address_line2) if line
            ]
            if lines or patient.city or patient.postal_code:
                fields["address"] = [
                    Address(
                        use="home",
                        line=lines or None,
                        city=patient.city or None,
                        district=f"{patient.county} County" if patient.county else None,
                        state=patient.state or None,
                        postalCode=patient.postal_code or None,
                        country="US",
                    )
                ]
            extensions = []
            if patient.sex_at_birth in _BIRTH_SEX:
                extensions.append(
                    Extension(url=_US_CORE_BIRTHSEX, valueCode=_BIRTH_SEX[patient.sex_at_birth])
                )
            if (preferences := contact_preferences_extension(patient)) is not None:
                extensions.append(preferences)
            fields["extension"] = extensions or None
            if patient.emergency_contact_name:
                fields["contact"] = [
                    PatientContact(
                        relationship=[
                            CodeableConcept(
                                text=patient.emergency_contact_relationship or "Emergency contact"
                            )
                        ],
                        name=HumanName(text=patient.emergency_contact_name),
                        telecom=[ContactPoint(system="phone", value=patient.emergency_contact_phone)]
                        if patient.emergency_contact_phone
                        else None,
                    )
                ]
        self.add(
            FhirPatient(
                id=self.patient_id,
                meta=security_meta(),
                identifier=[
                    Identifier(
                        use="usual",
                        type=concept(
                            "http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"
                        ),
                        system=codes.MRN_SYSTEM,
                        value=patient.mrn,
                    )
                ],
                name=names,
                birthDate=patient.date_of_birth,
                **fields,
            )
        )

    def episode(self, case: Case) -> None:
        history = list(case.stage_history.all())
        status_history = []
        for index, step in enumerate(history):
            following = history[index + 1] if index + 1 < len(history) else None
            discharged = step.to_stage == Case.Stage.DISCHARGED
            status_history.append(
                EpisodeOfCareStatusHistory(
                    extension=[
                        Extension(
                            url=codes.STAGE_EXTENSION,
                            valueCoding=coding(
                                codes.STAGE_SYSTEM, step.to_stage, _STAGE_LABELS[step.to_stage]
                            ),
                        )
                    ],
                    status="finished" if discharged else "active",
                    period=Period(
                        start=instant(step.effective_at),
                        end=instant(following.effective_at) if following else None,
                    ),
                )
            )
        self.add(
            EpisodeOfCare(
                id=str(case.pk),
                meta=security_meta(),
                identifier=[Identifier(system=codes.CASE_SYSTEM, value=str(case.pk))],
                status="active" if case.is_open else "finished",
                statusHistory=status_history or None,
                type=[concept(codes.STAGE_SYSTEM, case.stage, _STAGE_LABELS[case.stage])],
                patient=self.subject,
                period=Period(start=day(case.opened_on), end=day(case.closed_on)),
                careManager=by_name(staff_name(case.primary_clinician)) if case.primary_clinician else None,
            )
        )

    # --- Visits: encounters, notes and vitals ---

    def encounter(self, visit: Visit) -> None:
        start = instant(visit.scheduled_at)
        virtual = visit.visit_type in _VIRTUAL_VISITS
        # `class` is a Python keyword: the model names the field `class_fhir`.
        encounter_class: dict[str, Any] = {
            "class_fhir": coding(codes.V3_ACTCODE, *(("VR", "virtual") if virtual else ("AMB", "ambulatory")))
        }
        self.add(
            Encounter(
                id=str(visit.pk),
                meta=security_meta(),
                status="finished",
                **encounter_class,
                type=[concept(codes.VISIT_TYPE_SYSTEM, visit.visit_type, visit.get_visit_type_display())],
                subject=self.subject,
                episodeOfCare=[ref(visit.case_id)],
                participant=[
                    EncounterParticipant(
                        type=[concept(codes.V3_PARTICIPATION, "PPRF", "primary performer")],
                        individual=by_name(staff_name(visit.clinician)),
                    )
                ],
                period=Period(start=start, end=start + dt.timedelta(minutes=visit.duration_minutes)),
                length=Duration(
                    value=Decimal(visit.duration_minutes), unit="min", system=codes.UCUM, code="min"
                ),
            )
        )

    def visit_note(self, visit: Visit) -> None:
        text = visit_note_text(visit)
        if not text:
            return
        self.add(
            DocumentReference(
                id=ids.note_id(visit.pk),
                meta=security_meta(),
                status="current",
                docStatus="final" if visit.is_signed else "preliminary",
                type=concept(codes.LOINC, "11506-3", "Progress note"),
                subject=self.subject,
                date=instant(visit.signed_at or visit.scheduled_at),
                author=[by_name(staff_name(visit.clinician))],
                authenticator=by_name(staff_name(visit.signed_by)) if visit.signed_by else None,
                description=f"Visit note, {visit.get_visit_type_display()}",
                content=[DocumentReferenceContent(attachment=text_attachment(text, "Visit note (SOAP)"))],
                context=DocumentReferenceContext(encounter=[ref(visit.pk)]),
            )
        )

    def vitals(self, visit: Visit) -> None:
        common: dict[str, Any] = {
            "status": "final" if visit.is_signed else "preliminary",
            "category": [
                CodeableConcept(
                    coding=[coding(codes.OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")],
                    text="Vital Signs",
                )
            ],
            "subject": self.subject,
            "encounter": ref(visit.pk),
            "effectiveDateTime": instant(visit.scheduled_at),
        }
        if visit.bp_systolic is not None and visit.bp_diastolic is not None:
            self.add(
                Observation(
                    **common,
                    meta=security_meta(),
                    id=ids.vital_id(visit.pk, "bp"),
                    code=concept(*codes.BP_PANEL),
                    component=[
                        ObservationComponent(
                            code=concept(*codes.SYSTOLIC), valueQuantity=mm_hg(visit.bp_systolic)
                        ),
                        ObservationComponent(
                            code=concept(*codes.DIASTOLIC), valueQuantity=mm_hg(visit.bp_diastolic)
                        ),
                    ],
                )
            )
        if visit.heart_rate is not None:
            self.add(
                Observation(
                    **common,
                    meta=security_meta(),
                    id=ids.vital_id(visit.pk, "heart-rate"),
                    code=concept(*codes.HEART_RATE),
                    valueQuantity=Quantity(
                        value=Decimal(visit.heart_rate), unit="beats/minute", system=codes.UCUM, code="/min"
                    ),
                )
            )
        if visit.weight_kg is not None:
            self.add(
                Observation(
                    **common,
                    meta=security_meta(),
                    id=ids.vital_id(visit.pk, "weight"),
                    code=concept(*codes.BODY_WEIGHT),
                    valueQuantity=Quantity(value=visit.weight_kg, unit="kg", system=codes.UCUM, code="kg"),
                )
            )

    # --- Diagnoses and assessments ---

    def condition(self, diagnosis: Diagnosis) -> None:
        clinical = "remission" if diagnosis.remission else "active"
        evidence = None
        if self.selection.has("assessments"):
            evidence = [ConditionEvidence(detail=[ref(diagnosis.checklist.pk)])]
        snomed_code, severity_display = _SEVERITY_SNOMED[diagnosis.severity]
        self.add(
            Condition(
                id=ids.condition_id(diagnosis.case.pk),
                meta=security_meta(),
                clinicalStatus=concept(codes.CONDITION_CLINICAL, clinical, clinical.capitalize()),
                verificationStatus=concept(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                category=[concept(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
                severity=concept(codes.SNOMED, snomed_code, severity_display),
                code=CodeableConcept(
                    coding=[coding(codes.ICD10CM, diagnosis.icd10, diagnosis.icd10_display)],
                    text=diagnosis.text,
                ),
                subject=self.subject,
                recordedDate=instant(diagnosis.checklist.administered_at),
                recorder=by_name(staff_name(diagnosis.checklist.by)),
                evidence=evidence,
                note=[
                    Annotation(
                        text=f"Established by the DSM-5 checklist of {diagnosis.recorded_on:%Y-%m-%d}: "
                        f"{diagnosis.checklist.total} of 11 criteria met."
                    )
                ],
            )
        )

    def clinical_event(self, event: ClinicalEvent) -> None:
        """A seizure or an overdose is a Condition (a problem on the record, its onset the day it happened); an
        emergency visit or a hospitalization an Encounter elsewhere (class EMER / IMP). The kind is coded in the
        clinic's system; kratom's part and naloxone are stated in a note."""
        kind = concept(codes.CLINICAL_EVENT_SYSTEM, event.kind, event.get_kind_display())
        facts = f"Related to kratom: {event.get_related_to_kratom_display().lower()}."
        if event.kind == ClinicalEvent.Kind.OVERDOSE:
            given = {True: "yes", False: "no", None: "not known"}[event.naloxone_given]
            facts += f" Naloxone given: {given}."
        note = [Annotation(text=f"{event.description}\n{facts}")]
        if event.kind in (ClinicalEvent.Kind.SEIZURE, ClinicalEvent.Kind.OVERDOSE):
            self.add(
                Condition(
                    id=str(event.pk),
                    meta=security_meta(),
                    verificationStatus=concept(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                    category=[concept(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
                    code=kind,
                    subject=self.subject,
                    onsetDateTime=day(event.occurred_on),
                    recordedDate=instant(event.created_at),
                    recorder=by_name(staff_name(event.created_by)),
                    note=note,
                )
            )
            return
        inpatient = event.kind == ClinicalEvent.Kind.HOSPITALIZATION
        where = ("IMP", "inpatient encounter") if inpatient else ("EMER", "emergency")
        encounter_class: dict[str, Any] = {
            "class_fhir": coding(codes.V3_ACTCODE, *where)
        }  # `class`: a keyword
        self.add(
            Encounter(
                id=str(event.pk),
                meta=security_meta(),
                status="finished",
                **encounter_class,
                type=[kind],
                subject=self.subject,
                episodeOfCare=[ref(event.case_id)],
                period=Period(start=day(event.occurred_on)),
                reasonCode=[CodeableConcept(text=event.description)],
            )
        )

    def assessment(self, assessment: Assessment) -> None:
        instrument = INSTRUMENTS[assessment.instrument]
        items = []
        for item in instrument.items:
            if item.code not in assessment.responses:
                continue
            value = assessment.responses[item.code]
            answer = (
                QuestionnaireResponseItemAnswer(valueBoolean=value)
                if isinstance(value, bool)
                else QuestionnaireResponseItemAnswer(valueInteger=int(value))
            )
            items.append(QuestionnaireResponseItem(linkId=item.code, text=item.label, answer=[answer]))
        # Items the definition does not know (PHQ-9's unscored q10 before it is declared) go as they are.
        for code, value in assessment.responses.items():
            if instrument.item(code) is None and isinstance(value, bool | int):
                answer = (
                    QuestionnaireResponseItemAnswer(valueBoolean=value)
                    if isinstance(value, bool)
                    else QuestionnaireResponseItemAnswer(valueInteger=value)
                )
                items.append(QuestionnaireResponseItem(linkId=code, answer=[answer]))
        administered = instant(assessment.administered_at)
        self.add(
            QuestionnaireResponse(
                id=str(assessment.pk),
                meta=security_meta(),
                questionnaire=f"{codes.QUESTIONNAIRE_BASE}/{assessment.instrument}",
                status="completed",
                subject=self.subject,
                authored=administered,
                author=by_name(staff_name(assessment.by)),
                item=items or None,
            )
        )
        band = instrument.band_for(assessment.total)
        self.add(
            Observation(
                id=ids.total_id(assessment.pk),
                meta=security_meta(),
                status="final",
                category=[concept(codes.OBSERVATION_CATEGORY, "survey", "Survey")],
                code=concept(*codes.INSTRUMENT_TOTAL_CODES[assessment.instrument]),
                subject=self.subject,
                effectiveDateTime=administered,
                performer=[by_name(staff_name(assessment.by))],
                valueInteger=assessment.total,
                interpretation=[CodeableConcept(text=band.label)] if band else None,
                derivedFrom=[ref(assessment.pk)],
            )
        )

    # --- Medications, screens, panels, plan ---

    def medication(self, medication: Medication) -> None:
        name = (
            medication.other_name if medication.medication == "other" else medication.get_medication_display()
        )
        stopped = medication.stop_date is not None and medication.stop_date <= timezone.localdate()
        self.add(
            MedicationStatement(
                id=str(medication.pk),
                meta=security_meta(),
                status="completed" if stopped else "active",
                medicationCodeableConcept=concept(codes.MEDICATION_SYSTEM, medication.medication, name),
                subject=self.subject,
                context=ref(medication.case_id),
                effectivePeriod=Period(start=day(medication.start_date), end=day(medication.stop_date)),
                dateAsserted=instant(medication.created_at),
                informationSource=by_name(medication.prescriber),
                dosage=[Dosage(text=f"{medication.dose}, {medication.frequency}")],
            )
        )

    def drug_screen(self, screen: DrugScreen) -> None:
        members = []
        for analyte in ANALYTES:
            result = getattr(screen, analyte)
            if result not in codes.SCREEN_RESULT_VALUES:
                continue
            observation_id = ids.part_id(screen.pk, analyte)
            members.append(ref(observation_id))
            flag, flag_display = codes.SCREEN_RESULT_INTERPRETATION[result]
            self.add(
                Observation(
                    id=observation_id,
                    meta=security_meta(),
                    status="final",
                    category=[concept(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
                    code=concept(
                        codes.ANALYTE_SYSTEM, analyte, f"{_ANALYTE_LABELS[analyte]} [Presence] in Urine"
                    ),
                    subject=self.subject,
                    effectiveDateTime=day(screen.collected_on),
                    valueCodeableConcept=concept(*codes.SCREEN_RESULT_VALUES[result]),
                    interpretation=[concept(codes.V3_INTERPRETATION, flag, flag_display)],
                )
            )
        self.add(
            Observation(
                id=str(screen.pk),
                meta=security_meta(),
                status="final",
                category=[concept(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
                code=concept(codes.LAB_PANEL_SYSTEM, "urine-drug-screen", "Urine drug screen"),
                subject=self.subject,
                effectiveDateTime=day(screen.collected_on),
                hasMember=members or None,
                note=None if members else [Annotation(text="No analyte tested.")],
            )
        )

    def liver_panel(self, panel: LiverPanel) -> None:
        members = []
        for field_name, uln_field, loinc, display, unit in codes.LIVER_VALUES:
            value: Decimal = getattr(panel, field_name)
            upper: Decimal = getattr(panel, uln_field)
            high = value > upper
            observation_id = ids.part_id(panel.pk, field_name)
            members.append(ref(observation_id))
            self.add(
                Observation(
                    id=observation_id,
                    meta=security_meta(),
                    status="final",
                    category=[concept(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
                    code=concept(codes.LOINC, loinc, display),
                    subject=self.subject,
                    effectiveDateTime=day(panel.collected_on),
                    valueQuantity=Quantity(value=value, unit=unit, system=codes.UCUM, code=unit),
                    interpretation=[
                        concept(codes.V3_INTERPRETATION, *(("H", "High") if high else ("N", "Normal")))
                    ],
                    referenceRange=[
                        ObservationReferenceRange(
                            high=Quantity(value=upper, unit=unit, system=codes.UCUM, code=unit),
                            text="Upper limit of normal as reported by the lab",
                        )
                    ],
                )
            )
        # The panel itself groups its four values, as a screen groups its analytes.
        self.add(
            Observation(
                id=str(panel.pk),
                meta=security_meta(),
                status="final",
                category=[concept(codes.OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
                code=concept(
                    codes.LAB_PANEL_SYSTEM, "liver-panel", "Liver panel (ALT, AST, ALP, total bilirubin)"
                ),
                subject=self.subject,
                effectiveDateTime=day(panel.collected_on),
                hasMember=members,
            )
        )

    def care_plan(self, case: Case, goals: list[TreatmentGoal]) -> None:
        activities = []
        for goal in goals:
            lifecycle = _GOAL_STATUS[goal.status]
            self.add(
                Goal(
                    id=str(goal.pk),
                    meta=security_meta(),
                    lifecycleStatus=lifecycle,
                    achievementStatus=concept(codes.GOAL_ACHIEVEMENT, "achieved", "Achieved")
                    if goal.status == TreatmentGoal.Status.MET
                    else None,
                    description=CodeableConcept(text=goal.goal),
                    subject=self.subject,
                    target=[GoalTarget(dueDate=goal.target_date)] if goal.target_date else None,
                    statusReason=f"Plan status: {goal.get_status_display()}",
                    note=[
                        Annotation(text=f"Problem: {goal.problem}"),
                        Annotation(text=f"Last reviewed {goal.review_date:%Y-%m-%d}"),
                    ],
                )
            )
            if goal.interventions:
                activities.append(
                    CarePlanActivity(
                        detail=CarePlanActivityDetail(
                            status="in-progress" if lifecycle == "active" else "completed",
                            description=goal.interventions,
                            goal=[ref(goal.pk)],
                        )
                    )
                )
        self.add(
            CarePlan(
                id=ids.care_plan_id(case.pk),
                meta=security_meta(),
                status="active" if case.is_open else "completed",
                intent="plan",
                title="Treatment plan",
                subject=self.subject,
                period=Period(start=day(case.opened_on), end=day(case.closed_on)),
                goal=[ref(goal.pk) for goal in goals],
                activity=activities or None,
            )
        )

    # --- Consent and counseling notes ---

    def consent(self, consent: Any) -> None:
        """The consent the release relies on (SPEC 12: a copy or summary of it goes with the release)."""
        recipients = (
            list(consent.recipients.all()) if hasattr(consent.recipients, "all") else consent.recipients
        )
        actors = [
            ConsentProvisionActor(
                role=concept(codes.V3_PARTICIPATION, "IRCP", "information recipient"),
                reference=Reference(display=getattr(r, "name", None) or str(r)),
            )
            for r in recipients
        ]
        purposes = [
            coding(codes.V3_ACTREASON, *codes.PURPOSE_OF_USE[p])
            for p in consent.purposes
            if p in codes.PURPOSE_OF_USE
        ]
        categories = [
            coding(codes.CATEGORY_SYSTEM, c, CATEGORY_LABELS.get(c, "All records"))
            for c in consent.information
        ]
        status = {"active": "active", "expired": "inactive", "revoked": "inactive"}.get(
            consent.status, "inactive"
        )
        self.add(
            Consent(
                id=str(consent.pk),
                meta=security_meta(),
                status=status,
                scope=concept(codes.CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
                category=[concept(codes.LOINC, "59284-0", "Consent Document")],
                patient=self.subject,
                dateTime=dt.datetime.combine(
                    consent.signed_on, dt.time.min, tzinfo=timezone.get_current_timezone()
                ),
                performer=[Reference(display=consent.signer_name)],
                policy=[ConsentPolicy(authority=codes.PART2_POLICY, uri=codes.PART2_POLICY)],
                provision=ConsentProvision(
                    type="permit",
                    period=Period(start=day(consent.signed_on), end=day(consent.expires_on)),
                    actor=actors or None,
                    action=[concept(codes.CONSENT_ACTION, "disclose", "Disclose")],
                    purpose=purposes or None,
                    code=[CodeableConcept(coding=categories)] if categories else None,
                ),
            )
        )

    def counseling_note(self, note: Any) -> None:
        self.add(
            DocumentReference(
                id=str(note.pk),
                meta=security_meta(),
                status="current",
                docStatus="final",
                type=concept(
                    codes.DOCUMENT_SYSTEM, "sud-counseling-note", "SUD counseling note (42 CFR 2.11)"
                ),
                subject=self.subject,
                date=instant(note.written_at),
                author=[by_name(staff_name(note.author))],
                content=[
                    DocumentReferenceContent(
                        attachment=text_attachment(counseling_note_text(note), "SUD counseling note")
                    )
                ],
            )
        )


def contact_points(patient: Patient) -> list[ContactPoint]:
    """Patient.telecom: the phone, an `sms` point on the same number when the patient allows texts (none when
    refused or not asked: a text from the clinic can disclose treatment), the email; `rank` 1 on the way the
    patient prefers (FHIR: "preferred order of use, 1 = highest"). A letter is ranked in the extension only
    (Patient.address has no rank)."""
    preferred = patient.preferred_contact_method
    points = []
    if patient.phone:
        points.append(
            ContactPoint(
                system="phone", value=patient.phone, use="home", rank=1 if preferred == "phone" else None
            )
        )
        if patient.may_text:
            points.append(
                ContactPoint(system="sms", value=patient.phone, rank=1 if preferred == "text" else None)
            )
    if patient.email:
        points.append(
            ContactPoint(system="email", value=patient.email, rank=1 if preferred == "email" else None)
        )
    return points


def contact_preferences_extension(patient: Patient) -> Extension | None:
    """The contact preferences as recorded (cases/contact.py), in the clinic's extension
    (`codes.CONTACT_PREFERENCES_EXTENSION`): `voicemail` and `text` as booleans, absent when not asked (read as
    no); `preferred` the way the patient prefers (phone, text, email, mail), absent when none is recorded. None
    when nothing is recorded (an extension must carry a value or extensions)."""
    parts = [
        Extension(url=name, valueBoolean=answer)
        for name, answer in (("voicemail", patient.may_leave_voicemail), ("text", patient.may_text))
        if answer is not None
    ]
    if patient.preferred_contact_method:
        parts.append(
            Extension(
                url="preferred",
                valueCoding=coding(
                    codes.CONTACT_METHOD_SYSTEM,
                    patient.preferred_contact_method,
                    patient.get_preferred_contact_method_display(),
                ),
            )
        )
    return Extension(url=codes.CONTACT_PREFERENCES_EXTENSION, extension=parts) if parts else None


def mm_hg(value: int) -> Quantity:
    return Quantity(value=Decimal(value), unit="mmHg", system=codes.UCUM, code="mm[Hg]")


def text_attachment(text: str, title: str) -> Attachment:
    return Attachment(
        contentType="text/plain; charset=utf-8",
        language="en-US",
        data=base64.b64encode(text.encode()),
        title=title,
    )


def _by_case(records: Iterable[Any]) -> dict[object, list[Any]]:
    grouped: dict[object, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.case_id, []).append(record)
    return grouped


def fhir_bundle(selection: ReleaseSelection, *, consent: Any = None, generated_at: dt.datetime) -> Bundle:
    """The Bundle of the selection's records, and of the consent relied on (when the basis is a consent)."""
    builder = _Builder(selection)
    builder.patient(selection.patient)
    for case in selection.cases:
        builder.episode(case)
    for diagnosis in selection.diagnoses:
        builder.condition(diagnosis)
    for event in selection.clinical_events:
        builder.clinical_event(event)
    for visit in selection.visits:
        builder.encounter(visit)
        if selection.with_notes:
            builder.visit_note(visit)
            builder.vitals(visit)
    for assessment in selection.assessments:
        builder.assessment(assessment)
    for medication in selection.medications:
        builder.medication(medication)
    for screen in selection.drug_screens:
        builder.drug_screen(screen)
    for panel in selection.liver_panels:
        builder.liver_panel(panel)
    goals = _by_case(selection.goals)
    for case in selection.cases:
        if goals.get(case.pk):
            builder.care_plan(case, goals[case.pk])
    for note in selection.counseling_notes:
        builder.counseling_note(note)
    if consent is not None:
        builder.consent(consent)
    return Bundle(
        id=str(uuid.uuid4()),
        meta=security_meta(),
        identifier=Identifier(system=f"{codes.CLINIC_BASE}/sid/release", value=str(uuid.uuid4())),
        type="collection",
        timestamp=instant(generated_at),
        entry=builder.entries,
    )


def fhir_bundle_bytes(
    selection: ReleaseSelection, *, consent: Any = None, generated_at: dt.datetime
) -> bytes:
    """The Bundle as the exact bytes sent (and hashed): compact FHIR JSON, UTF-8."""
    return fhir_json(fhir_bundle(selection, consent=consent, generated_at=generated_at))


# --- Serialization ---
# fhir.resources' own `model_dump_json()` walks every element of every model in Python (about 2 ms a resource: 5 s
# for a five-year record). `fhir_json` walks only the elements that are set, in the same FHIR element order and
# with the same primitive encodings, and lets pydantic-core write the JSON; a test holds it equal to
# `model_dump_json()` on a rich record (tests/release/test_fhir_bundle.py).


@functools.cache
def _element_plan(model_class: type[FHIRAbstractModel]) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON name) of each element of a model class, in FHIR's element order."""
    aliases = model_class.get_alias_mapping()
    fields = model_class.model_fields
    return tuple(
        (aliases[name], fields[aliases[name]].alias or aliases[name])
        for name in model_class.elements_sequence()
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, FHIRAbstractModel):
        return _json_tree(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, Decimal):
        # As fhir_core writes decimals: whole numbers without a fraction as integers, the rest as floats.
        exponent = value.as_tuple().exponent
        if (
            value.is_finite()
            and value == value.to_integral_value()
            and isinstance(exponent, int)
            and exponent >= 0
        ):
            return int(value)
        return float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()  # base64Binary: the model holds the decoded bytes
    return value


def _json_tree(model: FHIRAbstractModel) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    model_class = type(model)
    if model_class.has_resource_base():
        tree["resourceType"] = model_class.get_resource_type()
    values = model.__dict__
    for attribute, name in _element_plan(model_class):
        value = values.get(attribute)
        if value is None or (isinstance(value, list) and not value):
            continue
        tree[name] = _json_value(value)
    return tree


def fhir_json(model: FHIRAbstractModel) -> bytes:
    """A resource (or Bundle) as compact FHIR JSON."""
    return pydantic_core.to_json(_json_tree(model))
