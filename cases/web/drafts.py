"""Drafts on the pages: what a long form needs to keep its author's typing server-side (cases.services.drafts).

A form that keeps drafts carries `data-draft` and, inside it, the element that htmx posts to its draft URL
(`cases/web/drafts/saver.html`); `clinic/static/clinic/session.js` sends it a few seconds after typing pauses,
when the idle warning shows (as a passive request that does not count as activity) and when the page is left.
The form's own view restores the draft when it opens (`restore_into`), and discards it once the form is
submitted; "Cancel" posts to the discard URL. The draft views live beside each form's view, which looks its record
up in the user's scope; they answer through `saved` and `discarded` below.
"""

import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.datastructures import MultiValueDict
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from cases.errors import DomainError
from cases.models import Draft
from cases.services.drafts import draft_discard, draft_restore, draft_save
from clinic.formats import show_datetime, show_time
from clinic.models import User


def _when(draft: Draft) -> str:
    return show_time(draft.saved_at)


def saved(
    request: HttpRequest,
    *,
    form: str,
    object_id: uuid.UUID,
    patient_id: uuid.UUID,
    fields: Iterable[str],
) -> HttpResponse:
    """Save the posted fields as the user's draft; answer the line the form shows ("Draft saved 10:42 AM"), or a
    400 naming what was refused (plain text, shown in the page's message area)."""
    try:
        draft = draft_save(
            author=request.user,  # type: ignore[arg-type]
            form=form,
            object_id=object_id,
            patient_id=patient_id,
            data=dict(request.POST.lists()),
            fields=fields,
        )
    except DomainError as error:
        return HttpResponse(
            f"The draft was not saved: {error.message}", status=400, content_type="text/plain; charset=utf-8"
        )
    return HttpResponse(f"Draft saved {_when(draft)}", content_type="text/plain; charset=utf-8")


def discarded(request: HttpRequest, *, form: str, object_id: uuid.UUID, back: str) -> HttpResponse:
    """Throw the user's draft away (Cancel) and go `back`, or to the page's own `next` when it is on this site
    (htmx: the browser goes there, `HX-Redirect`)."""
    draft_discard(author=request.user, form=form, object_id=object_id)  # type: ignore[arg-type]
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = back
    htmx = getattr(request, "htmx", None)
    if htmx:  # from the same page, only a refresh shows it without the draft (a new anchor merely scrolls)
        if urlsplit(htmx.current_url_abs_path or "").path == urlsplit(target).path:
            return HttpResponseClientRefresh()
        return HttpResponseClientRedirect(target)
    return redirect(target)


def restore_into(request: HttpRequest, bound: forms.Form, *, form: str, object_id: uuid.UUID) -> Draft | None:
    """Show the user's draft (if any) in the unbound form `bound`, as the fields' initial values: the form still
    posts against the record's own values, so a restored field that is then saved counts as changed."""
    user: User = request.user  # type: ignore[assignment]
    draft = draft_restore(author=user, form=form, object_id=object_id)
    if draft is None:
        return None
    data = QueryDict(mutable=True)
    data.update(MultiValueDict({name: list(values) for name, values in draft.data.items()}))
    for name, field in bound.fields.items():
        key = bound.add_prefix(name)
        if key in data or isinstance(field.widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            bound.initial[name] = field.widget.value_from_datadict(data, MultiValueDict(), key)
    return draft


def draft_notice(draft: Draft | None) -> str:
    if draft is None:
        return ""
    saved_on = show_datetime(draft.saved_at, weekday=True)
    return (
        f"Your unsaved draft from {saved_on} is back in the form below. Save to keep it; Cancel discards it."
    )
