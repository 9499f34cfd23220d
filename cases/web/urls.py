"""The staff pages' routes: each area module keeps its own `urlpatterns`; this gathers them at the site root."""

from cases.web import (
    assessments,
    audit_log,
    chart,
    clinical_events,
    clinical_record,
    dashboard,
    part2,
    patients,
    release,
    reports,
    schedule,
    visits,
)

urlpatterns = [
    *dashboard.urlpatterns,
    *patients.urlpatterns,
    *chart.urlpatterns,
    *visits.urlpatterns,
    *schedule.urlpatterns,
    *assessments.urlpatterns,
    *clinical_events.urlpatterns,
    *clinical_record.urlpatterns,
    *reports.urlpatterns,
    *audit_log.urlpatterns,
    *release.urlpatterns,
    *part2.urlpatterns,
]
