"""The domain's models, one module per aggregate."""

from cases.models.access import BreakGlassGrant
from cases.models.alerts import Alert, AlertEvidence
from cases.models.assessments import Assessment
from cases.models.clinical import (
    ANALYTES,
    USUAL_SCREEN_PANEL,
    DrugScreen,
    LiverPanel,
    Medication,
    TreatmentGoal,
)
from cases.models.drafts import Draft, DraftForm
from cases.models.episodes import CareTeamMember, Case, StageTransition
from cases.models.events import ClinicalEvent
from cases.models.part2 import (
    AccountingRequest,
    Consent,
    ConsentRecipient,
    ConsentRevocation,
    CounselingNote,
    Disclosure,
)
from cases.models.patients import DuplicateReview, MrnAllocation, Patient, format_mrn
from cases.models.rollups import CensusCount, CensusFact, ReportDirty
from cases.models.visits import DEFAULT_DURATIONS, Visit, VisitAddendum, VisitCount, VisitEvent

__all__ = [
    "ANALYTES",
    "DEFAULT_DURATIONS",
    "USUAL_SCREEN_PANEL",
    "AccountingRequest",
    "Alert",
    "AlertEvidence",
    "Assessment",
    "BreakGlassGrant",
    "CareTeamMember",
    "Case",
    "CensusCount",
    "CensusFact",
    "ClinicalEvent",
    "Consent",
    "ConsentRecipient",
    "ConsentRevocation",
    "CounselingNote",
    "Disclosure",
    "Draft",
    "DraftForm",
    "DrugScreen",
    "DuplicateReview",
    "LiverPanel",
    "Medication",
    "MrnAllocation",
    "Patient",
    "ReportDirty",
    "StageTransition",
    "TreatmentGoal",
    "Visit",
    "VisitAddendum",
    "VisitCount",
    "VisitEvent",
    "format_mrn",
]
