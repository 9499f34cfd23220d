"""No one raises their own access, or borrows another's (SPEC section 2): two-person approval of access changes.

- Nobody changes their own roles (`SelfChange`, whatever the roles).
- A role change that grants `clinician` or `supervisor` is recorded as a pending `AccessChange` and grants nothing
  until a different administrator or supervisor approves it; any other role change applies at once.
- On an account holding `clinician` or `supervisor`, the credential actions (a password reset link, removing an
  authenticator, changing the e-mail address) wait for the same approval; on other accounts they apply at once.
- A password reset never shows or sets a password: the account's password is made unusable (which ends its
  sessions), its API tokens are revoked, and a one-time link (Django's password-reset tokens) goes to the user's
  e-mail address through the configured e-mail backend (the console in the demo).

Each request, approval, refusal and applied change is audited with the old and new values (`role_change`,
`approve`, `refuse`, `password_reset`, `device_removed`, `update`), in the transaction of the change.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cases.errors import Conflict, ValidationFailed
from clinic.audit import audit_record
from clinic.credentials import revoke_tokens
from clinic.models import AccessChange, AuditAction, User
from clinic.roles import CLINICAL_ROLES, Role

APPROVER_ROLES = frozenset({Role.ADMINISTRATOR, Role.SUPERVISOR})
Kind = AccessChange.Kind


class SelfChange(ValidationFailed):
    """Nobody changes their own roles or approves their own request."""


def _roles(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def needs_second_person(subject: User, kind: str, roles_after: list[str] | None = None) -> bool:
    """Whether this change waits for approval: roles that add a clinical role; credential actions on an account
    that holds one."""
    if kind == Kind.ROLES:
        return bool((set(roles_after or []) - set(_roles(subject))) & CLINICAL_ROLES)
    return bool(set(_roles(subject)) & CLINICAL_ROLES)


def _audit(actor: User, action: str, subject: User, **detail: Any) -> None:
    audit_record(
        user=actor,
        action=action,
        object_type="user",
        object_id=subject.pk,
        detail={"username": subject.username, **detail},
    )


def request_change(
    *,
    actor: User,
    subject: User,
    kind: str,
    roles_after: list[str] | None = None,
    email_after: str = "",
    device_id: str = "",
    base_url: str = "",
) -> AccessChange | None:
    """Ask for a change: applied at once (returns None) when no second person is needed, else a pending
    `AccessChange`. Nobody asks for a change of their own roles."""
    if kind == Kind.ROLES and actor.pk == subject.pk:
        raise SelfChange("Nobody changes their own roles.", field="groups")
    roles_after = sorted(set(roles_after or []))
    if kind == Kind.ROLES and (unknown := set(roles_after) - set(Role.values)):
        raise ValidationFailed(f"Unknown roles: {', '.join(sorted(unknown))}.", field="groups")
    with transaction.atomic():
        if not needs_second_person(subject, kind, roles_after):
            _apply(
                actor,
                AccessChange(
                    subject=subject,
                    kind=kind,
                    requested_by=actor,
                    roles_before=_roles(subject),
                    roles_after=roles_after,
                    email_before=subject.email,
                    email_after=email_after,
                    device_id=device_id,
                ),
                base_url=base_url,
            )
            return None
        change = AccessChange.objects.create(
            subject=subject,
            kind=kind,
            requested_by=actor,
            roles_before=_roles(subject),
            roles_after=roles_after if kind == Kind.ROLES else [],
            email_before=subject.email,
            email_after=email_after,
            device_id=device_id,
        )
        _audit(
            actor, _REQUEST_ACTIONS[kind], subject, **_values(change), status="pending", change=str(change.pk)
        )
    return change


_REQUEST_ACTIONS: dict[str, str] = {
    Kind.ROLES: AuditAction.ROLE_CHANGE,
    Kind.PASSWORD_RESET: AuditAction.PASSWORD_RESET,
    Kind.DEVICE_REMOVAL: AuditAction.DEVICE_REMOVED,
    Kind.EMAIL_CHANGE: AuditAction.UPDATE,
}


def _values(change: AccessChange) -> dict[str, Any]:
    if change.kind == Kind.ROLES:
        return {"roles_before": change.roles_before, "roles_after": change.roles_after}
    if change.kind == Kind.EMAIL_CHANGE:
        return {"email_before": change.email_before, "email_after": change.email_after}
    if change.kind == Kind.DEVICE_REMOVAL:
        return {"device": change.device_id}
    return {}


def may_approve(approver: User, change: AccessChange) -> bool:
    return bool(
        approver.is_active
        and approver.roles & APPROVER_ROLES
        and approver.pk not in (change.requested_by_id, change.subject_id)
    )


def decide(*, approver: User, change: AccessChange, approve: bool, base_url: str = "") -> AccessChange:
    """Approve (and apply) or refuse a pending change. The approver is an administrator or supervisor who neither
    asked for it nor is its subject."""
    if not may_approve(approver, change):
        raise SelfChange(
            "A different administrator or supervisor, neither the requester nor the account's owner, decides.",
            field="non_field_errors",
        )
    with transaction.atomic():
        current = AccessChange.objects.select_for_update().get(pk=change.pk)
        if current.status != AccessChange.Status.PENDING:
            raise Conflict("This change has already been decided.", field="non_field_errors")
        current.status = AccessChange.Status.APPROVED if approve else AccessChange.Status.REFUSED
        current.decided_by = approver
        current.decided_at = timezone.now()
        current.save(update_fields=["status", "decided_by", "decided_at"])
        _audit(
            approver,
            AuditAction.APPROVE if approve else AuditAction.REFUSE,
            current.subject,
            kind=current.kind,
            change=str(current.pk),
            requested_by=current.requested_by.username,
            **_values(current),
        )
        if approve:
            _apply(approver, current, base_url=base_url)
    return current


def _apply(actor: User, change: AccessChange, *, base_url: str) -> None:
    subject = change.subject
    if change.kind == Kind.ROLES:
        before = _roles(subject)
        subject.groups.set(Group.objects.filter(name__in=change.roles_after))
        subject.__dict__.pop("roles", None)
        _audit(actor, AuditAction.ROLE_CHANGE, subject, roles_before=before, roles_after=change.roles_after)
    elif change.kind == Kind.EMAIL_CHANGE:
        email_before = subject.email
        subject.email = change.email_after
        subject.save(update_fields=["email"])
        _audit(actor, AuditAction.UPDATE, subject, email_before=email_before, email_after=change.email_after)
    elif change.kind == Kind.DEVICE_REMOVAL:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        removed, _ = TOTPDevice.objects.filter(user=subject, pk=change.device_id or None).delete()
        _audit(actor, AuditAction.DEVICE_REMOVED, subject, device=change.device_id, removed=bool(removed))
    elif change.kind == Kind.PASSWORD_RESET:
        send_reset_link(actor, subject, base_url=base_url)


def send_reset_link(actor: User, subject: User, *, base_url: str = "") -> None:
    """Make the password unusable (ending every session signed in with it), revoke the API tokens, and e-mail a
    one-time link to set a new one. Nobody sees or sets the password but its owner."""
    if not subject.email:
        raise ValidationFailed("The account has no e-mail address to send the link to.", field="email")
    subject.set_unusable_password()
    subject.save(update_fields=["password"])
    revoke_tokens(subject, reason="password_reset", actor=actor)
    uid = urlsafe_base64_encode(force_bytes(subject.pk))
    token = default_token_generator.make_token(subject)  # after the change: the old hash no longer counts
    link = f"{base_url}{reverse('password_reset_confirm', args=[uid, token])}"
    send_mail(
        "Set your password for the case tracker",
        f"An administrator sent you this one-time link to set a new password:\n\n{link}\n\n"
        "If you did not expect it, tell the clinic manager.",
        settings.DEFAULT_FROM_EMAIL,
        [subject.email],
    )
    _audit(actor, AuditAction.PASSWORD_RESET, subject, link_sent_to=subject.email)
