"""Placeholder: filled in by the web pages work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from cases.web.access import page
from clinic.policy import Capability


@page(Capability.READ_DEMOGRAPHICS)
def patient_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Patients")


urlpatterns = [path("patients/", patient_list, name="patients")]
