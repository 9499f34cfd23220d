"""The session keep-alive and the refusal page; the staff pages live in cases/web/, the probes in clinic/health.py."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST


@require_POST
@login_required
def keepalive(request: HttpRequest) -> HttpResponse:
    """ "Stay signed in" on the idle warning: any request counts as activity (clinic.security); this one shows
    nothing."""
    return HttpResponse(status=204)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's `handler403`: the reason (`cases.web.access.refuse` words it) on the site's page, or as
    plain text for an htmx request, which the page shows in its message area."""
    reason = str(exception) or "You are not allowed to do this."
    if getattr(request, "htmx", False):
        return HttpResponse(reason, status=403, content_type="text/plain; charset=utf-8")
    return render(request, "403.html", {"reason": reason}, status=403)
