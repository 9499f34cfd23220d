"""The code systems, codes and labels a release uses (SPEC section 13; docs/release.md states each one).

The clinic's own identifiers and codes live under `CLINIC_BASE`; a deployment that has a registered base (an OID or
its own domain) changes it here and in docs/release.md, nowhere else.
"""

from cases.models.part2 import PART2_NOTICE as _PART2_NOTICE

CLINIC_BASE = "https://kratom-clinic.example.org/fhir"
MRN_SYSTEM = f"{CLINIC_BASE}/sid/mrn"
CASE_SYSTEM = f"{CLINIC_BASE}/sid/case"
# Code systems of the clinic's own (no standard code exists for these).
STAGE_SYSTEM = f"{CLINIC_BASE}/CodeSystem/case-stage"
INSTRUMENT_SYSTEM = f"{CLINIC_BASE}/CodeSystem/instrument"  # COWS, SOWS and DSM-5 checklist totals and items
VISIT_TYPE_SYSTEM = f"{CLINIC_BASE}/CodeSystem/visit-type"
CLINICAL_EVENT_SYSTEM = f"{CLINIC_BASE}/CodeSystem/clinical-event"  # seizure, overdose, emergency_visit, ...
MEDICATION_SYSTEM = f"{CLINIC_BASE}/CodeSystem/medication"
ANALYTE_SYSTEM = f"{CLINIC_BASE}/CodeSystem/urine-drug-screen-analyte"
LAB_PANEL_SYSTEM = f"{CLINIC_BASE}/CodeSystem/lab-panel"  # the screen and the liver panel as groups
CATEGORY_SYSTEM = f"{CLINIC_BASE}/CodeSystem/release-category"
DOCUMENT_SYSTEM = f"{CLINIC_BASE}/CodeSystem/document-type"
CONTACT_METHOD_SYSTEM = (
    f"{CLINIC_BASE}/CodeSystem/contact-method"  # phone, text, email, mail (Patient.ContactMethod)
)
# Patient: may the clinic leave a voicemail, send texts (absent: not asked), the preferred way (cases/contact.py).
CONTACT_PREFERENCES_EXTENSION = f"{CLINIC_BASE}/StructureDefinition/contact-preferences"
QUESTIONNAIRE_BASE = f"{CLINIC_BASE}/Questionnaire"
STAGE_EXTENSION = f"{CLINIC_BASE}/StructureDefinition/episode-stage"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
V3_ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ACTREASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
V3_ROLECODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
PART2_POLICY = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"

# meta.security on the Bundle and on every resource in it: restricted, 42 CFR Part 2, substance abuse information
# sensitivity, and the refrain "no redisclosure without consent directive".
SECURITY_LABELS: tuple[tuple[str, str, str], ...] = (
    (V3_CONFIDENTIALITY, "R", "restricted"),
    (V3_ACTCODE, "42CFRPart2", "42 CFR Part2"),
    (V3_ACTCODE, "ETH", "substance abuse information sensitivity"),
    (V3_ACTCODE, "NORDSCLCD", "no redisclosure without consent directive"),
)

# LOINC totals where one exists; the clinic's own codes for the rest (SPEC section 13).
INSTRUMENT_TOTAL_CODES: dict[str, tuple[str, str, str]] = {
    "phq9": (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
    "gad7": (LOINC, "70274-6", "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"),
    "cows": (INSTRUMENT_SYSTEM, "cows-total", "Clinical Opiate Withdrawal Scale (COWS) total score"),
    "sows": (INSTRUMENT_SYSTEM, "sows-total", "Subjective Opiate Withdrawal Scale (SOWS) total score"),
    "dsm5_sud": (
        INSTRUMENT_SYSTEM,
        "dsm5-sud-criteria-met",
        "DSM-5 substance use disorder checklist (kratom): number of criteria met",
    ),
}

BP_PANEL = (LOINC, "85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = (LOINC, "8480-6", "Systolic blood pressure")
DIASTOLIC = (LOINC, "8462-4", "Diastolic blood pressure")
HEART_RATE = (LOINC, "8867-4", "Heart rate")
BODY_WEIGHT = (LOINC, "29463-7", "Body weight")

# Liver panel fields: (value field, its upper limit field, LOINC code, display, UCUM unit).
LIVER_VALUES: tuple[tuple[str, str, str, str, str], ...] = (
    ("alt", "alt_uln", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
    ("ast", "ast_uln", "1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
    ("alp", "alp_uln", "6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "U/L"),
    ("total_bilirubin", "total_bilirubin_uln", "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL"),
)  # fmt: skip

SCREEN_RESULT_VALUES = {
    "positive": (SNOMED, "10828004", "Positive"),
    "negative": (SNOMED, "260385009", "Negative"),
}
SCREEN_RESULT_INTERPRETATION = {"positive": ("POS", "Positive"), "negative": ("NEG", "Negative")}

# The clinic's section 12 purposes as HL7 v3 ActReason codes, for the Consent's provision.
PURPOSE_OF_USE = {
    "treatment": ("TREAT", "treatment"),
    "payment": ("HPAYMT", "healthcare payment"),
    "health_care_operations": ("HOPERAT", "healthcare operations"),
    "care_coordination": ("CAREMGT", "care management"),
    "patient_request": ("PATRQT", "patient requested"),
    "legal": ("HLEGAL", "legal"),
}

# 42 CFR 2.32(a)(2): the notice that goes with every consented disclosure (the consents' own constant).
PART2_NOTICE = _PART2_NOTICE
