"""The Django admin, opened to users whom the policy lets manage staff (and to superusers for operations)."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest

from clinic.forms import SecondFactorMixin
from clinic.policy import Capability, has_capability


def may_use_admin(user: object) -> bool:
    return bool(
        getattr(user, "is_active", False)
        and (getattr(user, "is_superuser", False) or has_capability(user, Capability.MANAGE_STAFF))  # type: ignore[arg-type]
    )


class ClinicAdminAuthenticationForm(SecondFactorMixin, AdminAuthenticationForm):
    """The admin's own login page signs in like the staff login page: lockout, then a one-time code for the
    roles that need one (`clinic.signin`); only those the policy lets into the admin get past the password."""

    def confirm_login_allowed(self, user):
        if not may_use_admin(user):
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ClinicAdminSite(admin.AdminSite):
    site_header = "Kratom recovery clinic: staff administration"
    site_title = "Clinic administration"
    index_title = "Staff accounts and roles"
    login_form = ClinicAdminAuthenticationForm
    login_template = "clinic/admin_login.html"  # Django's, plus the one-time code field

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)
