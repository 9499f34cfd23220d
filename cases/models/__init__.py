"""The domain's models, one module per aggregate."""

from cases.models.access import BreakGlassGrant
from cases.models.assessments import Assessment
from cases.models.episodes import CareTeamMember, Case, StageTransition
from cases.models.patients import MrnAllocation, Patient, format_mrn
from cases.models.visits import Visit, VisitAddendum

__all__ = [
    "Assessment",
    "BreakGlassGrant",
    "CareTeamMember",
    "Case",
    "MrnAllocation",
    "Patient",
    "StageTransition",
    "Visit",
    "VisitAddendum",
    "format_mrn",
]
