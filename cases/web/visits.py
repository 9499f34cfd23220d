"""Placeholder: the visits pages (schedule, log, sign, addenda) and the chart's visits section."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern

from cases.models import Case, Patient


def visits_section(request: HttpRequest, patient: Patient, case: Case | None) -> dict[str, Any]:
    """Context for `cases/web/visits/section.html`, included in the patient chart."""
    return {}


urlpatterns: list[URLPattern] = []
