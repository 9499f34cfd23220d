"""The health check, the session keep-alive, the refusal page; the staff pages live in cases/web/."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cases.models import Case
from clinic.admin_site import may_use_admin
from clinic.policy import Capability, cases_in_scope, has_capability


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's roles and, for roles that see patients, their open cases by stage."""
    stages: list[tuple[str, int]] = []  # empty (no table) for roles that see no patients
    if has_capability(request.user, Capability.READ_DEMOGRAPHICS):  # type: ignore[arg-type]
        counts = (
            cases_in_scope(request.user, Capability.READ_DEMOGRAPHICS)  # type: ignore[arg-type]
            .filter(status=Case.Status.OPEN)
            .values("stage")
            .annotate(n=Count("id"))
        )
        by_stage = {row["stage"]: row["n"] for row in counts}
        stages = [
            (label, by_stage.get(code, 0))
            for code, label in Case.Stage.choices
            if code != Case.Stage.DISCHARGED
        ]
    context = {
        "stages": stages,
        "roles": sorted(request.user.roles),  # type: ignore[union-attr]
        "may_use_admin": may_use_admin(request.user),
    }
    return render(request, "clinic/home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the container's health check."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


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
