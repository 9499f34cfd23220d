"""Placeholder: the assessment form and the chart's assessments section with trend charts."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern

from cases.models import Case, Patient


def assessments_section(request: HttpRequest, patient: Patient, case: Case | None) -> dict[str, Any]:
    """Context for `cases/web/assessments/section.html`, included in the patient chart."""
    return {}


urlpatterns: list[URLPattern] = []
