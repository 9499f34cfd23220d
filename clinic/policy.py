"""The access policy (SPEC section 2): who may do what, to which patients, and see which fields.

Every entry point (API, web pages, admin) asks this module; nothing else looks at a user's groups.

- `has_capability(user, cap)`: does any of the user's roles ever have it? No -> the caller answers 403.
- `patients_in_scope(user, cap)` / `cases_in_scope` / `visits_in_scope`: querysets limited to what the user may
  act on; a record outside them answers 404, so its existence is not revealed.
- `may(user, cap, patient)`: the same question for one patient.
- `capabilities_on(user, patient, caps)`: which of several capabilities, with one query at most.
- `may_read_clinical(user, patient)`: whether serializers include clinical fields.
- `writable_case_fields` / `writable_visit_fields`: which fields of a record the user may write; the API and the
  pages ask these and only translate the answer into HTTP.

"Caseload" = patients with an open or closed case on which the user is the primary clinician or a care-team
member, plus patients under an active break-glass grant of the user's, plus patients the user registered who have
no case yet (so a clinician who registers someone can go on to open their case).
"""

from enum import IntEnum, StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet, Value

from cases.models import BreakGlassGrant, CareTeamMember, Case, Patient, Visit
from clinic.models import User
from clinic.roles import CLINICAL_ROLES, Role


class Capability(StrEnum):
    READ_DEMOGRAPHICS = "read_demographics"  # search / list patients, read demographics
    EDIT_DEMOGRAPHICS = "edit_demographics"  # register patient, edit demographics
    OPEN_CASE = "open_case"
    ASSIGN_CLINICIANS = "assign_clinicians"  # primary clinician and care team
    READ_CLINICAL = "read_clinical"  # substance history, notes, assessments, labs, medications, plan, alerts
    SCHEDULE_VISITS = "schedule_visits"  # schedule, mark arrival / no-show / cancellation
    WRITE_NOTES = "write_notes"  # visit note, sign, addendum
    RECORD_CLINICAL = "record_clinical"  # assessments, labs, vitals, medications, plan goals
    CHANGE_STAGE = "change_stage"
    BREAK_GLASS = "break_glass"
    REPORTS = "reports"  # aggregate reports (clinicians: own caseload only)
    AUDIT_LOG = "audit_log"
    MANAGE_STAFF = "manage_staff"
    LIST_STAFF = "list_staff"  # the staff list, to pick a clinician (SPEC section 10, `staff/`)
    REVIEW_BREAK_GLASS = "review_break_glass"  # the break-glass grants and what was viewed under them
    # 42 CFR Part 2 (SPEC section 12; the rules below `MATRIX`)
    RECORD_CONSENTS = (
        "record_consents"  # record a consent, upload its scan, revoke it, record its expiry event
    )
    READ_CONSENTS = "read_consents"  # consent metadata (administrators: any patient, found by exact MRN)
    READ_CONSENT_DOCUMENTS = "read_consent_documents"  # the signed form's scan (never administrators)
    RELEASE_RECORDS = (
        "release_records"  # release records, record a manual disclosure (never under break-glass)
    )
    READ_DISCLOSURES = "read_disclosures"  # the ledger and a patient's accounting of disclosures (metadata)
    ACCOUNTING_REQUESTS = "accounting_requests"  # record, extend and fulfil requests; the open and late list
    WRITE_COUNSELING_NOTES = "write_counseling_notes"  # reading is the author's alone (`counseling_notes_of`)
    SUPERVISE_BREAK_GLASS = "supervise_break_glass"  # end a grant early, record the review of it
    APPROVE_ACCESS = "approve_access"  # decide another's pending access change (clinic/approvals.py)
    FIND_PATIENT_BY_MRN = "find_patient_by_mrn"  # privacy work: exact MRN, identifying fields only
    REVIEW_DUPLICATES = "review_duplicates"  # the registrations flagged as possible duplicates: decide each


class Scope(IntEnum):
    NONE = 0
    CASELOAD = 1
    CASELOAD_OR_NEW = 2  # the caseload, or a patient with no case yet (nothing clinical to see)
    ALL = 3


_FD, _CL, _SU, _AD = Role.FRONT_DESK, Role.CLINICIAN, Role.SUPERVISOR, Role.ADMINISTRATOR
_ALL, _CASELOAD = Scope.ALL, Scope.CASELOAD

# SPEC section 2, row for row. A role missing from a row has no access (Scope.NONE).
MATRIX: dict[Capability, dict[Role, Scope]] = {
    Capability.READ_DEMOGRAPHICS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL},
    Capability.EDIT_DEMOGRAPHICS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL},
    # Clinicians open cases at intake for patients front desk registered (no case yet), and readmit their own
    # caseload. Opening a case on another clinician's former patient would hand over that patient's history
    # without break-glass, so that is for front desk or a supervisor (or after a break-glass grant).
    Capability.OPEN_CASE: {_FD: _ALL, _CL: Scope.CASELOAD_OR_NEW, _SU: _ALL},
    Capability.ASSIGN_CLINICIANS: {_SU: _ALL},
    Capability.READ_CLINICAL: {_CL: _CASELOAD, _SU: _ALL},
    Capability.SCHEDULE_VISITS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL},
    Capability.WRITE_NOTES: {_CL: _CASELOAD, _SU: _ALL},
    Capability.RECORD_CLINICAL: {_CL: _CASELOAD, _SU: _ALL},
    Capability.CHANGE_STAGE: {_CL: _CASELOAD, _SU: _ALL},
    Capability.BREAK_GLASS: {_CL: _ALL},
    Capability.REPORTS: {_CL: _CASELOAD, _SU: _ALL, _AD: _ALL},
    Capability.AUDIT_LOG: {_AD: _ALL},
    Capability.MANAGE_STAFF: {_AD: _ALL},
    Capability.LIST_STAFF: {_SU: _ALL, _AD: _ALL},
    # Not a row of section 2: grants are flagged for supervisor review; administrators, as privacy officers,
    # read them too (they already read the same facts in the audit log).
    Capability.REVIEW_BREAK_GLASS: {_SU: _ALL, _AD: _ALL},
    # SPEC section 12. Consents are not clinical content: whoever sees the patient reads them; administrators (the
    # privacy officer) read their metadata and the ledger for any patient, never the scan or clinical content.
    Capability.RECORD_CONSENTS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL},
    Capability.READ_CONSENTS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL, _AD: _ALL},
    Capability.READ_CONSENT_DOCUMENTS: {_FD: _ALL, _CL: _CASELOAD, _SU: _ALL},
    Capability.RELEASE_RECORDS: {_CL: _CASELOAD, _SU: _ALL},
    Capability.READ_DISCLOSURES: {_CL: _CASELOAD, _SU: _ALL, _AD: _ALL},
    Capability.ACCOUNTING_REQUESTS: {_SU: _ALL, _AD: _ALL},
    Capability.WRITE_COUNSELING_NOTES: {_CL: _CASELOAD, _SU: _ALL},
    # SPEC section 2: "Supervisors can end a grant early and record their review of it."
    Capability.SUPERVISE_BREAK_GLASS: {_SU: _ALL},
    # SPEC section 2: "pending until a different administrator or supervisor approves it".
    Capability.APPROVE_ACCESS: {_SU: _ALL, _AD: _ALL},
    # SPEC section 2: for privacy work (access log, accounting of disclosures, consent metadata) an administrator
    # looks a patient up by exact MRN (`GET patients/?mrn=`) and gets only the identifying fields. The roles that
    # read demographics use `?mrn=` as a filter within their own scope instead (`finds_patients_by_mrn_only`).
    Capability.FIND_PATIENT_BY_MRN: {_AD: _ALL},
    # SPEC section 2: a clinician's registration resembling patients outside their scope goes through, "flagged
    # for the front desk's duplicate review": the front desk and supervisors (who see every patient) decide.
    Capability.REVIEW_DUPLICATES: {_FD: _ALL, _SU: _ALL},
}


def roles_of(user: User | None) -> frozenset[Role]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    return user.roles


def scope(user: User | None, capability: Capability) -> Scope:
    """The widest scope any of the user's roles gives for `capability`."""
    row = MATRIX[capability]
    return max((row.get(role, Scope.NONE) for role in roles_of(user)), default=Scope.NONE)


def has_capability(user: User | None, capability: Capability) -> bool:
    return scope(user, capability) > Scope.NONE


def caseload_q(user: User, *, grants: bool = True) -> Q:
    """A filter on `Patient` selecting the user's caseload (see the module docstring); `grants=False` leaves out
    the patients reached only through break-glass (records are never released under break-glass)."""
    caseload = own_caseload_q(user) | Q(
        Q(created_by=user) & ~Exists(Case.objects.filter(patient=OuterRef("pk")))
    )
    if grants:
        caseload |= Q(pk__in=BreakGlassGrant.objects.running().filter(user=user).values("patient_id"))
    return caseload


def patients_in_scope(user: User | None, capability: Capability) -> QuerySet[Patient]:
    """Patients (not entered in error) on which the user may exercise `capability`."""
    granted = scope(user, capability)
    patients = Patient.objects.filter(entered_in_error=False)
    if granted is Scope.ALL:
        return patients
    if granted is Scope.CASELOAD_OR_NEW and user is not None:
        return patients.filter(caseload_q(user) | ~Exists(Case.objects.filter(patient=OuterRef("pk"))))
    if granted is Scope.CASELOAD and user is not None:
        return patients.filter(caseload_q(user))
    return patients.none()


def cases_in_scope(user: User | None, capability: Capability) -> QuerySet[Case]:
    return Case.objects.filter(patient__in=patients_in_scope(user, capability))


def visits_in_scope(user: User | None, capability: Capability) -> QuerySet[Visit]:
    return Visit.objects.filter(case__patient__in=patients_in_scope(user, capability))


def finds_patients_by_mrn_only(user: User | None) -> bool:
    """Whether the user's one way to patients is the exact-MRN lookup with identifying fields only (an
    administrator with no role that reads demographics): no list, no search, no other patient endpoint."""
    return has_capability(user, Capability.FIND_PATIENT_BY_MRN) and not has_capability(
        user, Capability.READ_DEMOGRAPHICS
    )


def may(user: User | None, capability: Capability, patient: Patient) -> bool:
    """May the user exercise `capability` on this patient?"""
    granted = scope(user, capability)
    if granted is Scope.NONE or patient.entered_in_error:
        return False
    if granted is Scope.ALL:
        return True
    return user is not None and patients_in_scope(user, capability).filter(pk=patient.pk).exists()


def capabilities_on(
    user: User | None,
    patient: Patient,
    capabilities: tuple[Capability, ...],
    *,
    found_with: Capability | None = None,
) -> frozenset[Capability]:
    """Which of `capabilities` the user may exercise on this patient (`may` for each), asking the database at most
    once: whether the patient is in the user's caseload. `found_with`: the capability whose scope the caller
    already found the patient in (e.g. the queryset a view looked the record up in); when that scope is the
    caseload, the patient is known to be in it and no query runs."""
    if user is None or patient.entered_in_error:
        return frozenset()
    in_caseload: bool | None = (
        True if found_with is not None and scope(user, found_with) is Scope.CASELOAD else None
    )
    allowed: set[Capability] = set()
    for capability in capabilities:
        granted = scope(user, capability)
        if granted is Scope.NONE:
            continue
        if granted is Scope.ALL:
            allowed.add(capability)
            continue
        if in_caseload is None:
            in_caseload = Patient.objects.filter(caseload_q(user), pk=patient.pk).exists()
        if in_caseload or (
            granted is Scope.CASELOAD_OR_NEW and not Case.objects.filter(patient=patient).exists()
        ):
            allowed.add(capability)
    return frozenset(allowed)


def may_read_clinical(user: User | None, patient: Patient) -> bool:
    return may(user, Capability.READ_CLINICAL, patient)


def may_break_glass(user: User | None, patient: Patient) -> bool:
    """Break-glass is for a clinician reaching a patient outside their caseload (a supervisor sees all already)."""
    return (
        has_capability(user, Capability.BREAK_GLASS)
        and not patient.entered_in_error
        and not may(user, Capability.READ_CLINICAL, patient)
    )


def own_caseload_q(user: User) -> Q:
    """A filter on `Patient`: the patients on whose cases (open or closed) the user is primary clinician or on the
    care team. Break-glass grants are not part of it: a grant lets its holder read and record until it ends, but
    nothing done under it (opening a case) makes the patient theirs (SPEC section 2)."""
    return Q(pk__in=Case.objects.filter(primary_clinician=user).values("patient_id")) | Q(
        pk__in=CareTeamMember.objects.filter(user=user).values("case__patient_id")
    )


def takes_on_opened_case(user: User | None, patient: Patient) -> bool:
    """Whether the user becomes primary clinician of a case they open for `patient` (SPEC section 2, "who takes on
    a case"). Only through the clinician role, and only for a patient already in the user's own caseload (not a
    break-glass grant) or one who has never had a case. A front-desk-and-clinician account opening a case for
    another clinician's former patient uses its front-desk right, with the front desk's consequence: the case
    opens unassigned. Supervisors open unassigned too (they may assign anyone, themselves included, at once)."""
    roles = roles_of(user)
    if user is None or Role.CLINICIAN not in roles or Role.SUPERVISOR in roles or patient.entered_in_error:
        return False
    if Patient.objects.filter(own_caseload_q(user), pk=patient.pk).exists():
        return True
    # A patient who never had a case, unless the user reaches them under a break-glass grant: nothing done under a
    # grant (opening a case) makes the patient theirs beyond it.
    return not (
        Case.objects.filter(patient=patient).exists()
        or BreakGlassGrant.objects.running().filter(user=user, patient=patient).exists()
    )


# The case fields whose writing is a right of its own (SPEC sections 1 and 2): assignment is a supervisor's; the
# presenting substance profile is clinical content. `referral_source` and `opened_on` go with opening the case.
CASE_ASSIGNMENT_FIELDS = ("primary_clinician", "care_team")
CASE_PROFILE_FIELDS = (
    "kratom_form",
    "kratom_daily_grams",
    "kratom_years_used",
    "reasons_for_use",
    "other_substances",
)


def writable_case_fields(user: User | None, patient: Patient, *, opening: bool = False) -> frozenset[str]:
    """Which of a case's assignment and profile fields the user may write, each with its own right's scope: the
    assignment for whoever may assign clinicians to this patient; the profile for whoever may record clinical
    content for this patient (a grant counts while it lasts), or, when opening, takes the case on."""
    writable: set[str] = set()
    if may(user, Capability.ASSIGN_CLINICIANS, patient):
        writable.update(CASE_ASSIGNMENT_FIELDS)
    if may(user, Capability.RECORD_CLINICAL, patient) or (opening and takes_on_opened_case(user, patient)):
        writable.update(CASE_PROFILE_FIELDS)
    return frozenset(writable)


def opened_case_primary(user: User | None, patient: Patient, requested: User | None = None) -> User | None:
    """The primary clinician of a case the user opens: the one asked for, when the user may assign clinicians
    (checked with `writable_case_fields`); else the user, when they take the case on; else nobody (unassigned)."""
    if requested is not None and "primary_clinician" in writable_case_fields(user, patient, opening=True):
        return requested
    return user if takes_on_opened_case(user, patient) else None


# A visit's fields by the right that writes them (SPEC sections 2 and 3.4): the booking and the attendance are
# scheduling (front desk, clinicians for their caseload, supervisors); the note, vitals, craving and use are
# clinical content (clinicians for their caseload, supervisors). A booking writes the scheduling fields only.
VISIT_SCHEDULING_FIELDS = Visit.SCHEDULING_FIELDS
VISIT_ATTENDANCE_FIELDS = ("status",)
VISIT_CLINICAL_FIELDS = Visit.CLINICAL_FIELDS


def writable_visit_fields(
    user: User | None, patient: Patient, *, found_with: Capability | None = None
) -> frozenset[str]:
    """Which of a visit's fields the user may write on a visit of this patient: its scheduling and attendance
    for whoever may schedule this patient's visits, its note and vitals for whoever may write notes for this
    patient (a break-glass grant counts while it lasts). The API's `PATCH visits/{id}/` and the pages' forms ask
    this; `found_with` as in `capabilities_on` (at most one query, none when the caller's lookup settled it)."""
    allowed = capabilities_on(
        user, patient, (Capability.SCHEDULE_VISITS, Capability.WRITE_NOTES), found_with=found_with
    )
    writable: set[str] = set()
    if Capability.SCHEDULE_VISITS in allowed:
        writable.update((*VISIT_SCHEDULING_FIELDS, *VISIT_ATTENDANCE_FIELDS))
    if Capability.WRITE_NOTES in allowed:
        writable.update(VISIT_CLINICAL_FIELDS)
    return frozenset(writable)


def holds_only_by_break_glass(user: User | None, patient: Patient) -> bool:
    """Whether the user reaches this patient's clinical content only through an active break-glass grant (records
    may not be released under break-glass, SPEC section 12)."""
    if user is None or scope(user, Capability.READ_CLINICAL) is not Scope.CASELOAD:
        return False
    in_caseload_without_grant = Patient.objects.filter(
        own_caseload_q(user) | Q(Q(created_by=user) & ~Exists(Case.objects.filter(patient=OuterRef("pk")))),
        pk=patient.pk,
    ).exists()
    return not in_caseload_without_grant and may(user, Capability.READ_CLINICAL, patient)


def is_clinical_staff(user: User | None) -> bool:
    """An active user in a role that carries a caseload (`CLINICAL_ROLES`)."""
    return bool(roles_of(user) & CLINICAL_ROLES)


def clinical_access(user: User | None, patient_ref: str) -> Exists | Value:
    """An annotation telling, per row, whether the user may read clinical content of the row's patient.

    `patient_ref` is the path from the annotated model to the patient id (e.g. "case__patient_id"). One
    subquery per list, not one query per row.
    """
    granted = scope(user, Capability.READ_CLINICAL)
    if granted is Scope.ALL:
        return Value(True)
    if granted is Scope.NONE or user is None:
        return Value(False)
    return Exists(Patient.objects.filter(caseload_q(user), pk=OuterRef(patient_ref), entered_in_error=False))


# --- 42 CFR Part 2 (SPEC section 12) ---------------------------------------------------------------------------


def release_refusal(user: User | None, patient: Patient) -> str | None:
    """Why the user may not release this patient's records (None: they may). Clinicians release for their own
    caseload and supervisors for everyone, never under break-glass: a clinician who reaches the patient only
    through a grant is refused. The caller has already answered 404 for a patient outside what the user sees."""
    granted = scope(user, Capability.RELEASE_RECORDS)
    if granted is Scope.NONE or user is None:
        return "Your role does not release records."
    if patient.entered_in_error:
        return "This patient record was entered in error."
    if granted is Scope.ALL:
        return None
    if Patient.objects.filter(caseload_q(user, grants=False), pk=patient.pk).exists():
        return None
    return "Records are never released under break-glass access; ask the patient's clinician or a supervisor."


def may_read_disclosure_reasons(user: User | None, patient: Patient) -> bool:
    """A medical emergency's nature (2.51(c)(4)) is clinical content: administrators read the ledger without it."""
    return may_read_clinical(user, patient)


def counseling_note_readers_q(user: User | None) -> Q:
    """SUD counseling notes (42 CFR 2.11, 2.31(b)): their author alone reads, lists and releases them; not
    supervisors, not break-glass, not reports. A filter on `CounselingNote`."""
    if user is None or not is_clinical_staff(user):
        return Q(pk__in=[])
    return Q(author=user)


def consent_document_access(user: User | None, patient_ref: str) -> Exists | Value:
    """An annotation telling, per consent, whether the user may open its scan (never administrators)."""
    granted = scope(user, Capability.READ_CONSENT_DOCUMENTS)
    if granted is Scope.ALL:
        return Value(True)
    if granted is Scope.NONE or user is None:
        return Value(False)
    return Exists(Patient.objects.filter(caseload_q(user), pk=OuterRef(patient_ref), entered_in_error=False))


def reports_deidentified(user: User | None, asked: bool | None) -> bool:
    """Whether a report run by this user is de-identified (SPEC section 2): always for administrators; an account
    that is also a supervisor may choose, de-identified unless it asks otherwise; others as they ask (default
    not). `asked` is None when the request did not say."""
    roles = roles_of(user)
    if Role.ADMINISTRATOR in roles:
        return True if Role.SUPERVISOR not in roles or asked is None else asked
    return bool(asked)
