"""REST API routes, versioned under /api/v1/, with the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views.alerts import AlertViewSet
from api.views.audit import AuditEventViewSet, BreakGlassGrantViewSet, PatientAccessLogViewSet
from api.views.auth import LogoutView, MeView, TokenView
from api.views.cases import CaseViewSet
from api.views.clinical import (
    AssessmentViewSet,
    ClinicalEventViewSet,
    DrugScreenViewSet,
    GoalViewSet,
    LiverPanelViewSet,
    MedicationViewSet,
)
from api.views.instruments import InstrumentViewSet
from api.views.part2 import (
    AccountingRequestViewSet,
    ConsentViewSet,
    CounselingNoteViewSet,
    DisclosureViewSet,
    PatientAccountingViewSet,
)
from api.views.patients import BreakGlassView, DuplicateReviewViewSet, PatientViewSet
from api.views.release import RecordReleaseViewSet
from api.views.reports import REPORT_VIEWSETS
from api.views.staff import AccessChangeViewSet, StaffViewSet
from api.views.visits import VisitViewSet

router = DefaultRouter()
router.include_root_view = False
router.register("patients", PatientViewSet, basename="patient")
router.register("duplicate-reviews", DuplicateReviewViewSet, basename="duplicate-review")
router.register("cases", CaseViewSet, basename="case")
router.register("visits", VisitViewSet, basename="visit")
router.register("staff", StaffViewSet, basename="staff")
router.register("instruments", InstrumentViewSet, basename="instrument")
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("goals", GoalViewSet, basename="goal")
router.register("medications", MedicationViewSet, basename="medication")
router.register("drug-screens", DrugScreenViewSet, basename="drug-screen")
router.register("liver-panels", LiverPanelViewSet, basename="liver-panel")
router.register("clinical-events", ClinicalEventViewSet, basename="clinical-event")
router.register("alerts", AlertViewSet, basename="alert")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("break-glass-grants", BreakGlassGrantViewSet, basename="break-glass-grant")
# 42 CFR Part 2 (SPEC section 12; api/views/part2.py)
router.register("consents", ConsentViewSet, basename="consent")
router.register("disclosures", DisclosureViewSet, basename="disclosure")
router.register("accounting-requests", AccountingRequestViewSet, basename="accounting-request")
router.register("counseling-notes", CounselingNoteViewSet, basename="counseling-note")
router.register("access-changes", AccessChangeViewSet, basename="access-change")

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("v1/auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("v1/me/", MeView.as_view(), name="api-me"),
    path("v1/break-glass/", BreakGlassView.as_view(), name="api-break-glass"),
    path(
        "v1/patients/<uuid:pk>/access-log/",
        PatientAccessLogViewSet.as_view({"get": "list"}),
        name="patient-access-log",
    ),
    path(
        "v1/patients/<uuid:pk>/disclosures/",
        PatientAccountingViewSet.as_view({"get": "list"}),
        name="patient-disclosures",
    ),
    path(
        "v1/patients/<uuid:pk>/release/",
        RecordReleaseViewSet.as_view({"post": "release"}, detail=True),
        name="patient-release",
    ),
    # SPEC section 6: one GET per declared report, JSON or `?format=csv` (api/views/reports.py)
    *(
        path(f"v1/reports/{name}/", viewset.as_view({"get": "report"}), name=f"report-{name}")
        for name, viewset in REPORT_VIEWSETS.items()
    ),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        # the stock page, with a CSP nonce on its inline script and style (api/templates/api/swagger_ui.html)
        SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]
