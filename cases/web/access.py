"""What every staff page shares: refusals (403 for a capability the role never has, 404 for a patient outside the
user's scope; both audited as `denied`), the audit of page reads, domain errors shown on forms, and the navigation
each role sees.

Page views stack `@page(capability)` and then ask `patient_or_404(request, patient_id, capability)` for the
record they show; after building their context they call `audit_page_read(...)` once (SPEC section 7: every read
of patient data, web included, is one audit event; a failing audit write fails the page, so no data leaves).
"""

import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from cases.errors import Conflict, DomainError
from cases.models import Case, Patient
from cases.services.validation import integrity_refusal
from clinic.admin_site import may_use_admin
from clinic.audit import audit_record
from clinic.models import AuditAction, AuditOutcome, User
from clinic.policy import Capability, cases_in_scope, has_capability, patients_in_scope

P = ParamSpec("P")
R = TypeVar("R", bound=HttpResponse)
M = TypeVar("M", bound=Model)

# The refusal a user reads when their role never has a capability (403).
CAPABILITY_WORDS: dict[Capability, str] = {
    Capability.READ_DEMOGRAPHICS: "search patients or read their demographics",
    Capability.EDIT_DEMOGRAPHICS: "register patients or edit demographics",
    Capability.OPEN_CASE: "open a case",
    Capability.ASSIGN_CLINICIANS: "assign clinicians (supervisors do)",
    Capability.READ_CLINICAL: "read clinical content",
    Capability.SCHEDULE_VISITS: "schedule visits or record attendance",
    Capability.WRITE_NOTES: "write, sign or amend visit notes",
    Capability.RECORD_CLINICAL: "record assessments, labs, vitals, medications or plan goals",
    Capability.CHANGE_STAGE: "change a case's stage",
    Capability.BREAK_GLASS: "use break-glass access",
    Capability.REPORTS: "run reports",
    Capability.AUDIT_LOG: "read the audit log",
    Capability.MANAGE_STAFF: "manage staff accounts",
    Capability.LIST_STAFF: "list staff",
    Capability.REVIEW_BREAK_GLASS: "review break-glass access",
    Capability.RELEASE_RECORDS: "release records (clinicians and supervisors do)",
    Capability.RECORD_CONSENTS: "record or revoke consents",
    Capability.READ_CONSENTS: "read consents",
    Capability.READ_CONSENT_DOCUMENTS: "open a signed consent form",
    Capability.READ_DISCLOSURES: "read the disclosure ledger or an accounting of disclosures",
    Capability.ACCOUNTING_REQUESTS: "handle requests for an accounting of disclosures",
    Capability.WRITE_COUNSELING_NOTES: "write SUD counseling notes",
    Capability.SUPERVISE_BREAK_GLASS: "end or review break-glass grants (supervisors do)",
    Capability.APPROVE_ACCESS: "approve access changes",
    Capability.FIND_PATIENT_BY_MRN: "look a patient up by MRN",
    Capability.REVIEW_DUPLICATES: "review possible duplicate registrations",
}


def refuse(
    request: HttpRequest, capability: Capability, *, action: str = AuditAction.VIEW
) -> PermissionDenied:
    """Audit a 403 and return the exception to raise (its text is shown on the page)."""
    audit_record(
        user=request.user,  # type: ignore[arg-type]
        action=action,
        object_type="page",
        object_id=request.path[:64],
        outcome=AuditOutcome.DENIED,
        detail={"capability": str(capability)},
    )
    return PermissionDenied(f"Your role does not allow you to {CAPABILITY_WORDS[capability]}.")


def page(capability: Capability, *, action: str = "") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Sign-in required, then 403 (audited) unless one of the user's roles has `capability`. `action` is what a
    refusal records (default: `view` for GET, `update` otherwise). A row the database refuses by a CHECK
    constraint is a 400 (`cases.services.validation.integrity_refusal`), not a 500."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            request = cast(HttpRequest, args[0])
            if not has_capability(request.user, capability):  # type: ignore[arg-type]
                refused = action or (AuditAction.VIEW if request.method == "GET" else AuditAction.UPDATE)
                raise refuse(request, capability, action=refused)
            try:
                return view(*args, **kwargs)
            except IntegrityError as exc:  # a CHECK the validators missed: the database's backstop is a 400
                refusal = integrity_refusal(exc)
                if refusal is None:
                    raise
                raise BadRequest(refusal.message) from exc

        return login_required(wrapped)

    return decorator


def patient_or_404(
    request: HttpRequest, patient_id: uuid.UUID, capability: Capability, *, action: str = AuditAction.VIEW
) -> Patient:
    """The patient, if the user may exercise `capability` on them; otherwise an audited 404 (existence is not
    revealed). Call after `@page(...)` has checked the capability itself."""
    user: User = request.user  # type: ignore[assignment]
    patient = patients_in_scope(user, capability).filter(pk=patient_id).first()
    if patient is None:
        exists = Patient.objects.filter(pk=patient_id).exists()
        audit_record(
            user=user,
            action=action,
            object_type="patient",
            object_id=patient_id,
            patient_id=patient_id if exists else None,
            outcome=AuditOutcome.DENIED,
        )
        raise Http404("No such patient in your caseload.")
    return patient


def in_scope_or_404(
    request: HttpRequest,
    records: QuerySet[M],
    pk: uuid.UUID,
    *,
    object_type: str,
    patient_path: str,
    action: str = AuditAction.VIEW,
) -> M:
    """The record, if `records` (a queryset scoped by the policy) holds it; otherwise an audited 404 naming the
    record and, when it exists, its patient (as `patient_or_404` does for patients)."""
    record = records.filter(pk=pk).first()
    if record is None:
        patient_id = records.model._default_manager.filter(pk=pk).values_list(patient_path, flat=True).first()
        audit_record(
            user=request.user,  # type: ignore[arg-type]
            action=action,
            object_type=object_type,
            object_id=pk,
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
        )
        raise Http404("No such record in your caseload.")
    return record


def case_or_404(
    request: HttpRequest, case_id: uuid.UUID, capability: Capability, *, action: str = AuditAction.VIEW
) -> Case:
    """The case, if the user may exercise `capability` on its patient; otherwise an audited 404 (a case outside
    the user's scope is not revealed)."""
    cases = cases_in_scope(request.user, capability)  # type: ignore[arg-type]
    return in_scope_or_404(
        request,
        cases.select_related("patient", "primary_clinician"),
        case_id,
        object_type="case",
        patient_path="patient_id",
        action=action,
    )


def render_page(
    request: HttpRequest, template: str, fragment: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """The whole page, or for htmx the `{% partialdef %}` fragment it swaps (a history restore after a reload
    gets the whole page). The answer varies with `HX-Request`: fragment and page share a URL (`hx-push-url`)."""
    htmx = getattr(request, "htmx", None)
    name = f"{template}#{fragment}" if htmx and not htmx.history_restore_request else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def audit_page_read(
    request: HttpRequest,
    *,
    action: str,
    object_type: str,
    data_category: str,
    object_id: object = "",
    patient_id: uuid.UUID | None = None,
    patients_seen: Iterable[object] = (),
) -> None:
    """One audit event for a page (or fragment) that showed patient data: `view` for one record, `list` with the
    patients shown for a list."""
    audit_record(
        user=request.user,  # type: ignore[arg-type]
        action=action,
        object_type=object_type,
        object_id=object_id,
        patient_id=patient_id,
        patients_seen=patients_seen,
        data_category=data_category,
        detail={"page": request.path[:200]},
    )


def refusal_status(error: DomainError) -> int:
    """A service's refusal as the page's status: 409 for a conflict (a stale version, a signed note, ...), else 400
    (the API's `api.errors.exception_handler` answers the same codes)."""
    return 409 if isinstance(error, Conflict) else 400


def add_domain_errors(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form: under the field it names, else at the top."""
    for field, messages in error.errors.items():
        form.add_error(field if field in form.fields else None, messages)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Context for every page: the links the user's roles may follow, and the idle timeout for the warning."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    links = [("home", "Dashboard")]
    if has_capability(user, Capability.READ_DEMOGRAPHICS):
        links.append(("patients", "Patients"))
    if has_capability(user, Capability.SCHEDULE_VISITS):
        links.append(("schedule", "Schedule"))
    if has_capability(user, Capability.REPORTS):
        links.append(("reports", "Reports"))
    if has_capability(user, Capability.AUDIT_LOG):
        links.append(("audit", "Audit log"))
    if has_capability(user, Capability.ACCOUNTING_REQUESTS):
        links.append(("privacy", "Privacy"))
    return {
        "nav_links": links,
        "nav_admin": may_use_admin(user),
        "nav_search": has_capability(user, Capability.READ_DEMOGRAPHICS),
        "idle_timeout": settings.SESSION_IDLE_TIMEOUT,
        # The warning shows two minutes before the end (half the timeout, when that is shorter).
        "idle_warn": min(120, settings.SESSION_IDLE_TIMEOUT // 2),
    }
