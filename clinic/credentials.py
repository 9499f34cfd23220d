"""Credentials follow the password (SPEC section 2): when a user's password changes, by the user or through a reset
link, every API token of theirs is revoked, and every browser session signed in with the old password ends.

- Sessions: Django already ties a session to the password's hash (`HASH_SESSION_KEY`); a session signed in before
  the change no longer authenticates. The view where the user changes their own password keeps that one session
  (`update_session_auth_hash`).
- Tokens (knox) carry no such link, so they are deleted here, in the transaction that saves the new password, from
  a `User` save signal: every path that sets a password (the admin, a reset link, `changepassword`, the shell) is
  covered without each remembering to. Audited as `revoke`, with how many tokens ended.

A hash upgrade at sign-in (an older hasher rewritten as Argon2) saves the same password again: it revokes nothing.
"""

from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models.signals import post_save, pre_save

from clinic.audit import audit_record
from clinic.models import AuditEvent, User


def revoke_tokens(user: User, *, reason: str, actor: User | None = None) -> int:
    """Delete every API token of `user` and audit it (`revoke`); returns how many ended."""
    from knox.models import AuthToken

    with transaction.atomic():
        count, _ = AuthToken.objects.filter(user=user).delete()
        audit_record(
            user=actor or user,
            action=AuditEvent.Action.REVOKE,
            object_type="user",
            object_id=user.pk,
            detail={"username": user.username, "tokens_revoked": count, "reason": reason},
        )
    return count


def _remember_password_change(sender: type[User], instance: User, raw: bool = False, **kwargs: Any) -> None:
    new_raw = getattr(instance, "_password", None)
    instance._credentials_changed = False  # type: ignore[attr-defined]
    if raw or new_raw is None or instance._state.adding:
        return
    old_hash = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    # The same password saved again (a hash upgrade at sign-in) is no change.
    instance._credentials_changed = old_hash is None or not check_password(new_raw, old_hash)  # type: ignore[attr-defined]


def _revoke_after_password_change(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if getattr(instance, "_credentials_changed", False):
        instance._credentials_changed = False  # type: ignore[attr-defined]
        revoke_tokens(instance, reason="password_changed")


def connect_signals() -> None:
    pre_save.connect(_remember_password_change, sender=User, dispatch_uid="clinic.credentials.remember")
    post_save.connect(_revoke_after_password_change, sender=User, dispatch_uid="clinic.credentials.revoke")
