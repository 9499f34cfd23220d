"""The audit log page for administrators (SPEC section 7): the events newest first, filtered with the API's own
filter set, fifty a page; with `?patient=`, who accessed that patient's record; CSV through the API's export.

Reading the log is itself audited, as the API's `audit-events/` list records it: one `list` event of object type
`audit_event` with the filters asked for (and the patient, when the log is narrowed to one).
"""

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from cases.web.access import page, render_page
from clinic.audit import audit_record
from clinic.filters import AuditEventFilter
from clinic.models import AuditEvent
from clinic.policy import Capability

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


@require_GET
@page(Capability.AUDIT_LOG)
def audit_index(request: HttpRequest) -> HttpResponse:
    """The log, newest first; a bad filter value re-renders the form with its message (400)."""
    filters = AuditEventFilter(request.GET, queryset=AuditEvent.objects.order_by("-id"))
    query = _filter_query(request.GET)
    context: dict[str, Any] = {"fields": _shown_fields(filters), "query": query.urlencode()}
    if not filters.is_valid():
        context["errors"] = [
            (SHOWN_FILTERS.get(name, (name, ""))[0], message)
            for name, messages in filters.errors.items()
            for message in messages
        ]
        return _render(request, context, status=400)
    events = filters.qs
    listed = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    listed.object_list = list(listed.object_list)  # read before this read's own event is appended
    patient = filters.form.cleaned_data.get("patient")
    context |= {
        "events": listed,
        "patient": patient,
        "narrowed": any(name != "patient" for name in query),
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
    csv["format"] = "csv"
    return csv.urlencode()


def _render(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, TEMPLATE, "log", context, status=status)


urlpatterns = [path("audit/", audit_index, name="audit")]
