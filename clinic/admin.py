"""Admin for staff accounts and roles: administrators add staff, set roles, deactivate (never delete); set up
staff's authenticator apps (TOTP devices) and unlock sign-ins locked out after repeated failures."""

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin  # registers it with the site, replaced below
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.admin_site import may_use_admin
from clinic.audit import audit_record
from clinic.models import AuditEvent, User


class StaffAccessMixin:
    """Anyone allowed into the admin manages staff; nobody deletes accounts (deactivate instead)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class StaffUserAdmin(StaffAccessMixin, UserAdmin):
    list_display = ("username", "first_name", "last_name", "email", "role_list", "is_active", "last_login")
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name", "last_name", "email")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Roles and access", {"fields": ("is_active", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "groups",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("groups",)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Roles")
    def role_list(self, obj: User) -> str:
        return ", ".join(sorted(obj.roles)) or "-"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Audit a change of roles (or of `is_active`, which takes them all away) in the admin's transaction:
        who changed whose roles, from what to what."""
        member: User = form.instance
        before = sorted(member.groups.values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(member.groups.values_list("name", flat=True))
        activation = {}
        if change and "is_active" in form.changed_data:
            activation = {"active_before": not member.is_active, "active_after": member.is_active}
        if before != after or activation:
            audit_record(
                user=request.user,  # type: ignore[arg-type]
                action=AuditEvent.Action.ROLE_CHANGE,
                object_type="user",
                object_id=member.pk,
                detail={
                    "username": member.username,
                    "roles_before": before,
                    "roles_after": after,
                    **activation,
                },
            )


admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(StaffAccessMixin, GroupAdmin):
    """Roles are fixed by the product (a data migration); the admin shows them and who holds them."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(StaffAccessMixin, TOTPDeviceAdmin):
    """An administrator adds a device for a member of staff, who scans its QR code (the "qrcode" link) into an
    authenticator app; deleting a lost phone's device is allowed."""

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)


@admin.register(AccessAttempt)
class SignInLockoutAdmin(StaffAccessMixin, AccessAttemptAdmin):
    """Failed sign-ins per username and address (django-axes); deleting one unlocks that pair at once. The audit
    trail keeps every failed sign-in regardless."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)
