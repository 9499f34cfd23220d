"""Placeholder: filled in by the web pages work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from cases.web.access import page
from clinic.policy import Capability


@page(Capability.REPORTS)
def report_index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Reports")


urlpatterns = [path("reports/", report_index, name="reports")]
