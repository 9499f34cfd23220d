"""DRF permission that asks the policy whether the user's roles ever have the view's capability (else 403)."""

from typing import Any, cast

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from clinic.models import User
from clinic.policy import Capability, has_capability


class HasCapability(BasePermission):
    """The view names the capability per action in `capabilities` (a dict) or `capability` (one for all)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        capability = required_capability(view)
        return capability is None or has_capability(request.user, capability)  # type: ignore[arg-type]


class SchemaAccess(BasePermission):
    """The OpenAPI schema and the docs page: anyone with DEBUG (the demo), a signed-in user otherwise."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(settings.DEBUG or (request.user and request.user.is_authenticated))


def required_capability(view: Any) -> Capability | None:
    capabilities: dict[str, Capability] = getattr(view, "capabilities", {})
    action = getattr(view, "action", None)
    if action in capabilities:
        return capabilities[action]
    return getattr(view, "capability", None)


def acting_user(request: Request) -> User:
    """The authenticated staff member (the default permission classes have already refused anyone else)."""
    return cast(User, request.user)
