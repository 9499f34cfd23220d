"""Read-only admin views of the domain, for superusers (operations). Changes go through the services; reads are
audited like the API's (a `list` naming the page's patients, a `view` naming the record's)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from cases.models import BreakGlassGrant, Case, Patient, StageTransition, Visit, VisitAddendum
from clinic.audit import audit_record
from clinic.models import AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    audit_category = ""  # an `AuditEvent.DataCategory`
    patient_path = "patient_id"  # from a row to its patient's id

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:  # not a redirect
            shown = [row.pk for row in changelist.result_list]  # the page, cached for the template
            patients = self.model._default_manager.filter(pk__in=shown).values_list(
                self.patient_path, flat=True
            )
            self._audit(request, AuditEvent.Action.LIST, patients_seen=dict.fromkeys(patients))
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:  # shown (a missing record redirects)
            patient = (
                self.model._default_manager.filter(pk=object_id)
                .values_list(self.patient_path, flat=True)
                .first()
            )
            self._audit(request, AuditEvent.Action.VIEW, object_id=object_id, patient_id=patient)
        return response

    def _audit(self, request: HttpRequest, action: str, **fields: Any) -> None:
        audit_record(
            user=request.user,  # type: ignore[arg-type]
            action=action,
            object_type=self.model._meta.model_name or "",
            data_category=self.audit_category,
            detail={"via": "admin"},
            **fields,
        )


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    audit_category = AuditEvent.DataCategory.DEMOGRAPHICS
    patient_path = "pk"
    list_display = ("mrn", "last_name", "first_name", "date_of_birth", "entered_in_error")
    search_fields = ("mrn", "last_name", "first_name")
    list_filter = ("entered_in_error",)


class StageTransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    can_delete = False
    fields = ("sequence", "from_stage", "to_stage", "effective_at", "by", "reason", "discharge_reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    audit_category = AuditEvent.DataCategory.CASE
    list_display = ("patient", "status", "stage", "opened_on", "closed_on", "primary_clinician")
    list_filter = ("status", "stage", "referral_source")
    list_select_related = ("patient", "primary_clinician")
    search_fields = ("patient__mrn", "patient__last_name")
    inlines = [StageTransitionInline]


class AddendumInline(admin.TabularInline):
    model = VisitAddendum
    extra = 0
    can_delete = False
    readonly_fields = ("author", "created_at", "text")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    audit_category = AuditEvent.DataCategory.CLINICAL_NOTE
    patient_path = "case__patient_id"
    list_display = ("scheduled_at", "visit_type", "status", "clinician", "signed_at")
    list_filter = ("status", "visit_type")
    list_select_related = ("clinician",)
    date_hierarchy = "scheduled_at"
    inlines = [AddendumInline]


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(ReadOnlyAdmin):
    audit_category = AuditEvent.DataCategory.ACCESS
    list_display = ("user", "patient", "granted_at", "expires_at")
    list_select_related = ("user", "patient")
