"""The audit log page for administrators (SPEC section 7): the events newest first, filtered with the API's own
filter set, fifty a page; with `?patient=`, who accessed that patient's record; CSV through the API's export.

"Who saw this record?" starts from the MRN (issue 15): `?mrn=` finds the patient with the administrators' exact-MRN
lookup (`cases.selectors.patient_by_exact_mrn`, the one `GET patients/?mrn=` uses; SPEC section 2, privacy work)
and narrows the log to them as `?patient=<id>` would, naming the patient found by their identifying fields. Role
changes (and their approvals and refusals) show the roles by name, old -> new, with the account and its status.

Reading the log is itself audited, as the API's `audit-events/` list records it: one `list` event of object type
`audit_event` with the filters asked for (and the patient, when the log is narrowed to one).
"""

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from cases.models import Patient
from cases.selectors import patient_by_exact_mrn
from cases.web.access import page, render_page
from clinic.audit import audit_record
from clinic.filters import AuditEventFilter
from clinic.models import AuditEvent
from clinic.policy import Capability, has_capability
from clinic.roles import role_labels

PAGE_SIZE = 50
TEMPLATE = "cases/web/audit/page.html"
# The filters the form shows, in its order, with the page's words (the API's other filters, `data_category` and
# `object_id`, work in the URL too).
SHOWN_FILTERS: dict[str, tuple[str, str]] = {
    "user": ("User", "Username or user id."),
    "patient": ("Patient id", "Who accessed this record."),
    "action": ("Action", "Ctrl or Shift for several."),
    "outcome": ("Outcome", ""),
    "object_type": ("Object type", "patient, case, visit, report, ..."),
    "since": ("From", "YYYY-MM-DD, or a date-time."),
    "until": ("To", "YYYY-MM-DD (to its end), or a date-time."),
}
MAX_QUERY_VALUE = 200  # characters of each filter value kept in the audit event


def _filter_query(query: QueryDict) -> QueryDict:
    """The filters asked for (known names, non-empty values), without the page: for links and the CSV export."""
    kept = QueryDict(mutable=True)
    for name in AuditEventFilter.base_filters:
        values = [value for value in query.getlist(name) if value]
        if values:
            kept.setlist(name, values)
    return kept


def _audited_query(request_query: QueryDict, filters: QueryDict) -> dict[str, str]:
    """What the administrator searched for and which page, as the event keeps it (printable, bounded)."""
    asked: dict[str, list[str]] = {name: filters.getlist(name) for name in filters}
    page_number = request_query.get("page")
    if page_number:
        asked["page"] = [page_number]
    return {
        name: "".join(char for char in ",".join(values) if char.isprintable())[:MAX_QUERY_VALUE]
        for name, values in sorted(asked.items())
    }


def who_accessed(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent, dict[str, Any]]:
    """Per user (as named at the time), how many of `events` they left, how many were refused, and the last."""
    return (
        events.order_by()
        .values("username")
        .annotate(
            events=Count("pk"),
            denied=Count("pk", filter=Q(outcome=AuditEvent.Outcome.DENIED)),
            last=Max("occurred_at"),
        )
        .order_by("-last", "username")
    )


class PatientByMrnForm(forms.Form):
    """The patient by MRN (the exact number, letter case aside), for the administrators who may look one up."""

    mrn = forms.CharField(
        label="Patient MRN",
        max_length=16,
        required=False,
        strip=True,
        help_text="Who accessed this record: the exact MRN, e.g. KR0000125.",
    )


def _patient_by_mrn(request: HttpRequest) -> tuple[PatientByMrnForm | None, Patient | None, QueryDict]:
    """The MRN field (for those who may look a patient up by MRN), the patient it names, and the query with that
    patient as `?patient=` (the log's own filter). An unknown MRN, or one naming another patient than `?patient=`,
    is an error on the field; the query is then the request's."""
    query: QueryDict = request.GET
    if not has_capability(request.user, Capability.FIND_PATIENT_BY_MRN):  # type: ignore[arg-type]
        return None, None, query
    form = PatientByMrnForm(query)
    if not form.is_valid() or not form.cleaned_data["mrn"]:
        return form, None, query
    mrn = form.cleaned_data["mrn"]
    patient = patient_by_exact_mrn(mrn).only("id", "mrn", "first_name", "last_name", "date_of_birth").first()
    if patient is None:
        form.add_error("mrn", f"No patient has the MRN {mrn}.")
        # A lookup that finds no one still leaves a trace: guessing MRNs is privacy work to account for.
        audit_record(
            user=request.user,  # type: ignore[arg-type]
            action=AuditEvent.Action.LIST,
            object_type="audit_event",
            data_category=AuditEvent.DataCategory.AUDIT,
            detail={"page": request.path[:200], "query": _audited_query(query, query), "found": 0},
        )
        return form, None, query
    asked = query.get("patient", "").strip()
    if asked and asked != str(patient.pk):
        form.add_error(
            "mrn", "This MRN names another patient than the patient id asked for: clear one of them."
        )
        return form, None, query
    query = query.copy()
    query["patient"] = str(patient.pk)
    return form, patient, query


@require_GET
@page(Capability.AUDIT_LOG)
def audit_index(request: HttpRequest) -> HttpResponse:
    """The log, newest first; a bad filter value re-renders the form with its message (400)."""
    mrn_form, found, data = _patient_by_mrn(request)
    filters = AuditEventFilter(data, queryset=AuditEvent.objects.order_by("-id"))
    query = _filter_query(data)
    if found is not None:
        query["mrn"] = found.mrn
    shown = _shown_fields(filters)
    context: dict[str, Any] = {
        "fields": [mrn_form["mrn"], *shown] if mrn_form is not None else shown,
        "query": query.urlencode(),
    }
    if not filters.is_valid() or (mrn_form is not None and mrn_form.errors):
        errors = {**filters.errors, **(mrn_form.errors if mrn_form is not None else {})}
        labels = {**SHOWN_FILTERS, "mrn": ("Patient MRN", "")}
        context["errors"] = [
            (labels.get(name, (name, ""))[0], message)
            for name, messages in errors.items()
            for message in messages
        ]
        return _render(request, context, status=400)
    events = filters.qs
    listed = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    listed.object_list = [with_change(event) for event in listed.object_list]  # read before this read's event
    patient = filters.form.cleaned_data.get("patient")
    context |= {
        "events": listed,
        "patient": patient,
        "patient_found": found,
        "narrowed": any(name not in ("patient", "mrn") for name in query),
        "accessed_by": list(who_accessed(events)) if patient else [],
        "csv_url": f"{reverse('audit-event-list')}?{_csv_query(query)}",
    }
    audit_record(
        user=request.user,  # type: ignore[arg-type]
        action=AuditEvent.Action.LIST,
        object_type="audit_event",
        patient_id=patient,
        data_category=AuditEvent.DataCategory.AUDIT,
        detail={"page": request.path[:200], "query": _audited_query(request.GET, query)},
    )
    return _render(request, context)


def with_change(event: AuditEvent) -> AuditEvent:
    """The event, with `change`: what an account change did, for people (roles by name, old -> new, and whether
    it waits for a second person, was approved or refused), or '' for any other event."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    change = ""
    if "roles_before" in detail or "roles_after" in detail:
        before, after = detail.get("roles_before") or [], detail.get("roles_after") or []
        change = f"Roles: {role_labels(before)} -> {role_labels(after)}"
        if "active_before" in detail and detail.get("active_before") != detail.get("active_after"):
            change += "; account " + ("reactivated" if detail.get("active_after") else "deactivated")
        status = detail.get("status") or {"approve": "approved", "refuse": "refused"}.get(event.action, "")
        if status:
            change += f" ({status})"
        if detail.get("username"):
            change = f"{detail['username']}: {change}"
    event.change = change  # type: ignore[attr-defined]
    return event


def _shown_fields(filters: AuditEventFilter) -> list[Any]:
    """The form's fields as the page shows them (labels and help for people, not API clients)."""
    form = filters.form
    for name, (label, help_text) in SHOWN_FILTERS.items():
        form.fields[name].label, form.fields[name].help_text = label, help_text
    form.fields["outcome"].widget.choices = [("", "Any"), *AuditEvent.Outcome.choices]
    form.fields["action"].widget.attrs["size"] = 4
    return [form[name] for name in SHOWN_FILTERS]


def _csv_query(query: QueryDict) -> str:
    csv = query.copy()
    csv.pop("mrn", None)  # the page's lookup; the export takes the patient id it found
    csv["format"] = "csv"
    return csv.urlencode()


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, TEMPLATE, "log", context, status=status)


urlpatterns = [path("audit/", audit_index, name="audit")]
