"""Placeholder: filled in by the web pages work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from cases.web.access import page
from clinic.policy import Capability


@page(Capability.AUDIT_LOG)
def audit_index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Audit")


urlpatterns = [path("audit/", audit_index, name="audit")]
