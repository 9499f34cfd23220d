"""Patient pages: search and list, registration (with the possible-duplicate warning), demographics, opening a
case, break-glass access. Each calls the same selectors, services and policy as the API's `patients/` and
`cases/` endpoints (api/views/patients.py, api/views/cases.py)."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.errors import DomainError, NotFound, ValidationFailed
from cases.models import Case, DuplicateReview, Patient
from cases.selectors import clinical_staff, duplicate_reviews_visible_to, patients_visible_to
from cases.services.access import AlreadyInReach, break_glass_find_and_grant
from cases.services.cases import case_open
from cases.services.patients import (
    PossibleDuplicates,
    duplicate_review_resolve,
    patient_register,
    patient_update,
)
from cases.web.access import (
    add_domain_errors,
    audit_page_read,
    in_scope_or_404,
    page,
    patient_or_404,
    refusal_status,
)
from cases.web.patients_forms import (
    BreakGlassForm,
    CaseOpenForm,
    DemographicsForm,
    DuplicateReviewForm,
    PatientSearch,
    RegisterForm,
)
from clinic.formats import show_datetime
from clinic.models import AuditAction, AuditDataCategory, User
from clinic.policy import (
    CASE_ASSIGNMENT_FIELDS,
    CASE_PROFILE_FIELDS,
    Capability,
    has_capability,
    may,
    opened_case_primary,
    writable_case_fields,
)

PAGE_SIZE = 50
TEMPLATES = "cases/web/patients"


# --- Search and list ------------------------------------------------------------------------------------------


@require_GET
@page(Capability.READ_DEMOGRAPHICS)
def patient_list(request: HttpRequest) -> HttpResponse:
    """Patients the user may see, searched and filtered as the API's `?search=` etc.; the results alone for
    htmx's live search (`HX-Target: results`)."""
    user: User = request.user  # type: ignore[assignment]
    clinicians = [(str(u.pk), str(u)) for u in clinical_staff().prefetch_related(None)]
    # `open_cases` is the selector's prefetch of each patient's open case: its clinician comes in one query more.
    patients = patients_visible_to(user).prefetch_related("open_cases__primary_clinician")  # type: ignore[misc]
    search = PatientSearch(request.GET, queryset=patients, clinicians=clinicians)
    results = None
    if search.is_valid():
        results = Paginator(search.qs, PAGE_SIZE).get_page(request.GET.get("page"))
        audit_page_read(
            request,
            action=AuditAction.LIST,
            object_type="patient",
            data_category=AuditDataCategory.DEMOGRAPHICS,
            patients_seen=[patient.pk for patient in results],
        )
    context = {
        "search": search,
        "form": search.form,
        "results": results,
        "may_register": has_capability(user, Capability.EDIT_DEMOGRAPHICS),
        "may_break_glass": has_capability(user, Capability.BREAK_GLASS),
    }
    template = f"{TEMPLATES}/list.html"
    if request.htmx.target == "results" and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
        template += "#results"
    response = render(request, template, context, status=200 if results is not None else 400)
    patch_vary_headers(response, ["HX-Target"])
    return response


# --- Registration and demographics ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page(Capability.EDIT_DEMOGRAPHICS)
def patient_register_page(request: HttpRequest) -> HttpResponse:
    """Register a patient through `patient_register`, as the API does: possible duplicates the user may see are
    shown first (409; "Open existing record" is the primary choice), and nothing is saved until the user confirms
    a different person ("Register anyway"). Matches outside the user's scope are never shown (the service flags
    the registration for the front desk's duplicate review)."""
    form = RegisterForm(request.POST if request.method == "POST" else None)
    duplicates: list[Patient] = []
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                patient = patient_register(
                    actor=request.user,  # type: ignore[arg-type]
                    data=form.demographics(),
                    confirm_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                )
            except PossibleDuplicates as found:
                duplicates, status = found.shown, 409
            except ValidationFailed as error:
                add_domain_errors(form, error)
            else:
                messages.success(request, f"Registered {patient.display_name}: MRN {patient.mrn}.")
                return redirect("chart", patient_id=patient.pk)
    form.focus_first_error()
    return render(
        request, f"{TEMPLATES}/register.html", {"form": form, "duplicates": duplicates}, status=status
    )


@require_http_methods(["GET", "POST"])
@page(Capability.EDIT_DEMOGRAPHICS)
def patient_edit(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Edit a patient's demographics (the changed fields go to `patient_update`)."""
    action = AuditAction.VIEW if request.method == "GET" else AuditAction.UPDATE
    patient = patient_or_404(request, patient_id, Capability.EDIT_DEMOGRAPHICS, action=action)
    form = DemographicsForm.of(patient, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            changes = form.demographics(changed_only=True)
            try:
                patient_update(patient=patient, actor=request.user, data=changes)  # type: ignore[arg-type]
            except ValidationFailed as error:
                add_domain_errors(form, error)
                patient.refresh_from_db()  # the service set the refused values on it; the heading shows the record
            else:
                messages.success(request, "Demographics saved." if changes else "Nothing changed.")
                return redirect("chart", patient_id=patient.pk)
    _audit_view(request, patient)
    form.focus_first_error()
    return render(request, f"{TEMPLATES}/edit.html", {"patient": patient, "form": form}, status=status)


def _audit_view(request: HttpRequest, patient: Patient) -> None:
    audit_page_read(
        request,
        action=AuditAction.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        data_category=AuditDataCategory.DEMOGRAPHICS,
    )


# --- Opening a case -------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page(Capability.OPEN_CASE)
def patient_open_case(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Open a case at intake through `case_open`; a second open case is its `OpenCaseExists` (409)."""
    user: User = request.user  # type: ignore[assignment]
    action = AuditAction.VIEW if request.method == "GET" else AuditAction.CREATE
    # The page shows the patient's name and MRN: it needs the right to read them too (a clinician's right to open a
    # case for a patient who never had one does not show them anyone's demographics).
    patient = patient_or_404(request, patient_id, Capability.OPEN_CASE, action=action)
    if not may(user, Capability.READ_DEMOGRAPHICS, patient):
        patient_or_404(request, patient_id, Capability.READ_DEMOGRAPHICS, action=action)  # its audited 404
    writable = writable_case_fields(user, patient, opening=True)
    form = CaseOpenForm(
        request.POST if request.method == "POST" else None,
        may_assign=set(CASE_ASSIGNMENT_FIELDS) <= writable,
        may_record_profile=set(CASE_PROFILE_FIELDS) <= writable,
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            primary = opened_case_primary(user, patient, data.get("primary_clinician"))  # the policy decides
            try:
                case_open(
                    patient=patient,
                    actor=user,
                    referral_source=data["referral_source"],
                    opened_on=data["opened_on"],
                    primary_clinician=primary,
                    care_team=data.get("care_team", []),
                    profile=form.profile(),
                )
            except DomainError as error:
                add_domain_errors(form, error)
                status = refusal_status(error)
            else:
                messages.success(request, f"Case opened for {patient.display_name} at intake.")
                return redirect("chart", patient_id=patient.pk)
    _audit_view(request, patient)
    context = {
        "patient": patient,
        "form": form,
        "has_open_case": Case.objects.filter(patient=patient, status=Case.Status.OPEN).exists(),
    }
    return render(request, f"{TEMPLATES}/open_case.html", context, status=status)


# --- The front desk's duplicate review -----------------------------------------------------------------------


@require_GET
@page(Capability.REVIEW_DUPLICATES)
def duplicate_reviews(request: HttpRequest) -> HttpResponse:
    """The registrations flagged for duplicate review, still open first, each beside the records it resembles,
    with the two decisions (as the API's `duplicate-reviews/`). A read of all those patients' identifying fields."""
    user: User = request.user  # type: ignore[assignment]
    reviews = duplicate_reviews_visible_to(user)
    open_reviews = list(reviews.filter(status=DuplicateReview.Status.OPEN))
    decided = list(reviews.exclude(status=DuplicateReview.Status.OPEN).order_by("-resolved_at")[:PAGE_SIZE])
    return _duplicate_reviews_page(request, open_reviews, decided)


@require_POST
@page(Capability.REVIEW_DUPLICATES, action=AuditAction.UPDATE)
def duplicate_review_decide(request: HttpRequest, review_id: uuid.UUID) -> HttpResponse:
    """Record one decision through `duplicate_review_resolve`; the list again, with the error on that review."""
    user: User = request.user  # type: ignore[assignment]
    review = in_scope_or_404(
        request,
        duplicate_reviews_visible_to(user),
        review_id,
        object_type="duplicate_review",
        patient_path="patient_id",
        action=AuditAction.UPDATE,
    )
    form = DuplicateReviewForm(request.POST, prefix=str(review.pk))
    if form.is_valid():
        try:
            duplicate_review_resolve(review=review, actor=user, **form.cleaned_data)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(
                request, f"Review of {review.patient.display_name} ({review.patient.mrn}) recorded."
            )
            return redirect("duplicate-reviews")
    reviews = duplicate_reviews_visible_to(user)
    open_reviews = list(reviews.filter(status=DuplicateReview.Status.OPEN))
    return _duplicate_reviews_page(request, open_reviews, [], failed=(review.pk, form), status=400)


def _duplicate_reviews_page(
    request: HttpRequest,
    open_reviews: list[DuplicateReview],
    decided: list[DuplicateReview],
    *,
    failed: tuple[uuid.UUID, DuplicateReviewForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = []
    for review in open_reviews:
        form = failed[1] if failed and failed[0] == review.pk else DuplicateReviewForm(prefix=str(review.pk))
        rows.append((review, form))
    seen = [
        pk
        for review in [*open_reviews, *decided]
        for pk in (review.patient_id, *(match.pk for match in review.matches.all()))
    ]
    audit_page_read(
        request,
        action=AuditAction.LIST,
        object_type="duplicate_review",
        data_category=AuditDataCategory.DEMOGRAPHICS,
        patients_seen=list(dict.fromkeys(seen)),
    )
    context = {"rows": rows, "decided": decided}
    return render(request, f"{TEMPLATES}/duplicate_reviews.html", context, status=status)


# --- Break-glass ----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@page(Capability.BREAK_GLASS)
def break_glass(request: HttpRequest) -> HttpResponse:
    """Emergency access to a patient outside the caseload, in one step: the exact MRN (a clinician may hold it on
    paper), or the exact full name and date of birth, with the reason; as the API's `POST break-glass/`. Nothing
    about the patient is shown before the grant is recorded; a miss and an ambiguous match read the same (404)."""
    user: User = request.user  # type: ignore[assignment]
    if request.method == "GET":
        form = BreakGlassForm(initial={"mrn": request.GET.get("mrn", "")[:16]})
        return _break_glass_page(request, form)
    form = BreakGlassForm(request.POST)
    if not form.is_valid():
        return _break_glass_page(request, form, status=400)
    try:
        grant = break_glass_find_and_grant(user=user, **form.cleaned_data)
    except AlreadyInReach as already:
        return _break_glass_page(request, form, already=already.patient)
    except NotFound as error:
        add_domain_errors(form, error)
        return _break_glass_page(request, form, status=404)
    except ValidationFailed as error:
        add_domain_errors(form, error)
        return _break_glass_page(request, form, status=400)
    patient = grant.patient
    until = show_datetime(grant.expires_at)
    messages.warning(
        request,
        f"Break-glass access to {patient.display_name} ({patient.mrn}) until {until}: it lasts "
        f"{settings.BREAK_GLASS_HOURS} hours, is audited, and is flagged for supervisor review.",
    )
    return redirect("chart", patient_id=patient.pk)


def _break_glass_page(
    request: HttpRequest, form: BreakGlassForm, *, status: int = 200, already: Patient | None = None
) -> HttpResponse:
    context = {
        "form": form,
        "hours": settings.BREAK_GLASS_HOURS,
        "already": already,
    }
    return render(request, f"{TEMPLATES}/break_glass.html", context, status=status)


urlpatterns = [
    path("patients/", patient_list, name="patients"),
    path("patients/new/", patient_register_page, name="patient-register"),
    path("patients/break-glass/", break_glass, name="break-glass"),
    path("patients/duplicates/", duplicate_reviews, name="duplicate-reviews"),
    path("patients/duplicates/<uuid:review_id>/", duplicate_review_decide, name="duplicate-review-decide"),
    path("patients/<uuid:patient_id>/edit/", patient_edit, name="patient-edit"),
    path("patients/<uuid:patient_id>/open-case/", patient_open_case, name="patient-open-case"),
]
