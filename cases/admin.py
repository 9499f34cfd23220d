"""Read-only admin views of the domain, for superusers (operations). Changes go through the services."""

from django.contrib import admin
from django.http import HttpRequest

from cases.models import BreakGlassGrant, Case, Patient, StageTransition, Visit, VisitAddendum


class ReadOnlyAdmin(admin.ModelAdmin):
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


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
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
    list_display = ("scheduled_at", "visit_type", "status", "clinician", "signed_at")
    list_filter = ("status", "visit_type")
    list_select_related = ("clinician",)
    date_hierarchy = "scheduled_at"
    inlines = [AddendumInline]


@admin.register(BreakGlassGrant)
class BreakGlassGrantAdmin(ReadOnlyAdmin):
    list_display = ("user", "patient", "granted_at", "expires_at")
    list_select_related = ("user", "patient")
