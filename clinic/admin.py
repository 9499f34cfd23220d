"""Admin for staff accounts and roles: administrators add staff, ask for roles (approved by a second person when
they grant clinical access), deactivate (never delete), send password links, list and remove authenticator apps,
and unlock sign-ins locked out after repeated failures (SPEC section 2, clinic/approvals.py)."""

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin  # registers it with the site, replaced below
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.errors import DomainError
from clinic.admin_site import may_use_admin
from clinic.approvals import decide, needs_second_person, request_change
from clinic.audit import audit_record
from clinic.models import AccessChange, AuditEvent, User
from clinic.roles import role_label, role_labels


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


class StaffCreationForm(forms.ModelForm):
    """A new account has no password anyone knows: its owner sets one through the link the admin sends (SPEC
    section 2: a reset never shows or sets a password)."""

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "credentials", "email")


@admin.register(User)
class StaffUserAdmin(StaffAccessMixin, UserAdmin):
    """Staff accounts. Roles that grant `clinician` or `supervisor`, and on accounts holding one the credential
    actions, wait for a second person (clinic/approvals.py, the "Access changes" list); nobody edits their own
    roles; nobody sets or sees a password here (the "Send a password link" action e-mails the owner a one-time
    link instead)."""

    add_form = StaffCreationForm
    list_display = (
        "username", "first_name", "last_name", "credentials", "email", "role_list", "is_active", "last_login",
    )  # fmt: skip
    list_filter = ("is_active", "groups")
    search_fields = ("username", "first_name", "last_name", "email")
    fieldsets = (
        (None, {"fields": ("username",)}),
        ("Person", {"fields": ("first_name", "last_name", "credentials", "email")}),
        ("Roles and access", {"fields": ("is_active", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "first_name", "last_name", "credentials", "email", "groups"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ("groups",)
    actions = ["send_password_link"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("groups")

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            field.label = "Roles"
            field.label_from_instance = lambda group: role_label(group.name)  # type: ignore[method-assign, assignment]
        return field

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if "groups" not in form.base_fields:
            return form
        actor = request.user

        class NoSelfRoles(form):  # type: ignore[misc, valid-type]
            def clean(self) -> Any:
                data = super().clean()
                if obj is not None and obj.pk == actor.pk and "groups" in self.changed_data:
                    self.add_error("groups", "Nobody changes their own roles.")
                return data

        return NoSelfRoles

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        raise PermissionDenied("Nobody sets another's password: send them a password link instead.")

    @admin.display(description="Roles")
    def role_list(self, obj: User) -> str:
        return role_labels(obj.roles)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not change:
            obj.set_unusable_password()  # the owner sets one through the link
        pending_email = None
        if change and "credentials" in form.changed_data:
            audit_record(  # a signature's credentials are part of what a signed note says
                user=request.user,  # type: ignore[arg-type]
                action=AuditEvent.Action.UPDATE,
                object_type="user",
                object_id=obj.pk,
                detail={
                    "username": obj.username,
                    "credentials_before": form.initial.get("credentials", ""),
                    "credentials_after": obj.credentials,
                },
            )
        if change and "email" in form.changed_data:
            before = User.objects.get(pk=obj.pk).email
            if needs_second_person(obj, AccessChange.Kind.EMAIL_CHANGE):
                pending_email, obj.email = obj.email, before
            else:
                audit_record(
                    user=request.user,  # type: ignore[arg-type]
                    action=AuditEvent.Action.UPDATE,
                    object_type="user",
                    object_id=obj.pk,
                    detail={"username": obj.username, "email_before": before, "email_after": obj.email},
                )
        super().save_model(request, obj, form, change)
        if pending_email is not None:
            request_change(
                actor=request.user,  # type: ignore[arg-type]
                subject=obj,
                kind=AccessChange.Kind.EMAIL_CHANGE,
                email_after=pending_email,
            )
            messages.warning(request, "The new e-mail address waits for a second person's approval.")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Roles go through `clinic.approvals`: what the form wrote is put back, then asked for (applied at once,
        or pending when it adds `clinician` or `supervisor`)."""
        member: User = form.instance
        before = sorted(member.groups.values_list("name", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        after = sorted(member.groups.values_list("name", flat=True))
        if change and "is_active" in form.changed_data:
            audit_record(
                user=request.user,  # type: ignore[arg-type]
                action=AuditEvent.Action.ROLE_CHANGE,
                object_type="user",
                object_id=member.pk,
                detail={
                    "username": member.username,
                    "roles_before": before,
                    "roles_after": before,
                    "active_before": not member.is_active,
                    "active_after": member.is_active,
                },
            )
        if before == after:
            return
        member.groups.set(Group.objects.filter(name__in=before))
        member.__dict__.pop("roles", None)
        pending = request_change(
            actor=request.user,  # type: ignore[arg-type]
            subject=member,
            kind=AccessChange.Kind.ROLES,
            roles_after=after,
        )
        if pending is not None:
            messages.warning(
                request,
                f"The roles {', '.join(after) or '-'} for {member.username} wait for approval by a different "
                "administrator or supervisor; until then they grant nothing.",
            )

    @admin.action(description="Send a password link (a second person approves it for clinical staff)")
    def send_password_link(self, request: HttpRequest, queryset: Any) -> None:
        base = request.build_absolute_uri("/").rstrip("/")
        for member in queryset:
            try:
                pending = request_change(
                    actor=request.user,  # type: ignore[arg-type]
                    subject=member,
                    kind=AccessChange.Kind.PASSWORD_RESET,
                    base_url=base,
                )
            except DomainError as error:
                messages.error(request, f"{member.username}: {error.message}")
                continue
            if pending is None:
                messages.success(request, f"{member.username}: a one-time link was sent to {member.email}.")
            else:
                messages.warning(
                    request, f"{member.username}: the link waits for a second person's approval."
                )


@admin.register(AccessChange)
class AccessChangeAdmin(StaffAccessMixin, admin.ModelAdmin):
    """Pending, approved and refused access changes with their old and new values. A different administrator
    (or a supervisor, through the API) approves or refuses; nobody decides their own request or their own
    account's change."""

    list_display = (
        "requested_at", "subject", "kind", "roles_before_names", "roles_after_names", "email_after", "status",
        "requested_by", "decided_by", "decided_at",
    )  # fmt: skip
    list_filter = ("status", "kind")
    readonly_fields = [field.name for field in AccessChange._meta.fields]
    actions = ["approve", "refuse"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Roles before")
    def roles_before_names(self, obj: AccessChange) -> str:
        return role_labels(obj.roles_before)

    @admin.display(description="Roles after")
    def roles_after_names(self, obj: AccessChange) -> str:
        return role_labels(obj.roles_after)

    def _decide(self, request: HttpRequest, queryset: Any, *, approve: bool) -> None:
        base = request.build_absolute_uri("/").rstrip("/")
        for change in queryset:
            try:
                decide(approver=request.user, change=change, approve=approve, base_url=base)  # type: ignore[arg-type]
            except DomainError as error:
                messages.error(request, f"{change}: {error.message}")
            else:
                messages.success(request, f"{change}: {'approved' if approve else 'refused'}.")

    @admin.action(description="Approve the selected changes")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Refuse the selected changes")
    def refuse(self, request: HttpRequest, queryset: Any) -> None:
        self._decide(request, queryset, approve=False)


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
    """Authenticator apps, listed. Only their owner enrols one, signed in (clinic/enrolment.py): nobody adds or
    edits one here. Removing one (a lost phone) is immediate for other accounts and waits for a second person's
    approval on accounts holding `clinician` or `supervisor`."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return may_use_admin(request.user)

    def delete_model(self, request: HttpRequest, obj: TOTPDevice) -> None:
        pending = request_change(
            actor=request.user,  # type: ignore[arg-type]
            subject=obj.user,
            kind=AccessChange.Kind.DEVICE_REMOVAL,
            device_id=str(obj.pk),
        )
        if pending is not None:
            messages.warning(request, f"Removing {obj} waits for a second person's approval.")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for device in queryset:
            self.delete_model(request, device)


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
