"""How staff are named on pages: roles by their names (not their codes), signatures with credentials."""

from collections.abc import Iterable
from typing import Any

from django import template

from clinic.roles import role_labels

register = template.Library()


@register.filter
def role_names(codes: Iterable[str] | None) -> str:
    """`{{ event.roles|role_names }}` -> "Clinician, Supervisor"."""
    return role_labels(codes or ())


@register.filter
def signature(user: Any) -> str:
    """`{{ visit.signed_by|signature }}` -> "Chidi Okafor, MD" (the name alone without credentials)."""
    if user is None:
        return ""
    return user.signature if hasattr(user, "signature") else str(user)
