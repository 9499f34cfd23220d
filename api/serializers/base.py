"""Shared serializer behaviour: refuse unknown or read-only keys, and hide clinical fields per row."""

import uuid
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class StrictInputMixin:
    """A key the serializer cannot write is a 400 naming it, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            fields: dict[str, serializers.Field] = self.fields  # type: ignore[attr-defined]
            writable = {name for name, field in fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field, or one you may not set."] for name in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class ClinicalFieldsMixin:
    """Drops `clinical_fields` from the output of rows annotated `clinical_visible=False` (SPEC section 2)."""

    clinical_fields: tuple[str, ...] = ()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        if not getattr(instance, "clinical_visible", False):
            for name in self.clinical_fields:
                data.pop(name, None)
        return data


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


class NoBodySerializer(StrictSerializer):
    """For actions that take no input: an empty body or `{}`; anything else is a 400 (or 415), not ignored."""


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    pass


class ClinicianField(serializers.PrimaryKeyRelatedField):
    """An active clinician or supervisor by id (`cases.selectors.clinical_staff`), read with the user's roles in one
    query (`clinical_staff_member`); anyone else "does not exist". The schema reads the queryset's model."""

    def __init__(self, **kwargs: Any) -> None:
        from cases.selectors import clinical_staff

        kwargs.setdefault("queryset", clinical_staff())
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        from cases.selectors import clinical_staff_member

        if isinstance(data, bool) or not isinstance(data, str | uuid.UUID):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            user_id = uuid.UUID(str(data))
        except ValueError:
            self.fail("does_not_exist", pk_value=data)
        user = clinical_staff_member(user_id)
        if user is None:
            self.fail("does_not_exist", pk_value=data)
        return user


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must lie inside what the requesting user may act on; anything else 'does not exist'.

    `scoped` is a function `(user) -> queryset`, typically a `clinic.policy` scope for one capability.
    """

    def __init__(self, *, scoped: Any, **kwargs: Any) -> None:
        self.scoped = scoped
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        return self.scoped(self.context["request"].user)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            self._audit_refusal(data)
            raise

    def _audit_refusal(self, data: Any) -> None:
        """A write pointing at a record outside the user's scope is refused like one pointing at nothing (the same
        400), and recorded as denied on the patient it pointed at (SPEC sections 2 and 7)."""
        from django.core.exceptions import ValidationError as DjangoValidationError

        from clinic.audit import audit_record
        from clinic.models import AuditAction, AuditOutcome

        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return
        model = self.get_queryset().model
        names = {field.name for field in model._meta.get_fields()}
        path = "pk" if model._meta.model_name == "patient" else "patient_id" if "patient" in names else None
        path = path or ("case__patient_id" if "case" in names else None)
        if path is None:
            return
        try:
            patient_id = model._default_manager.filter(pk=data).values_list(path, flat=True).first()
        except (ValueError, TypeError, DjangoValidationError):
            return  # not an id at all: about no one
        if patient_id is None:
            return  # no such record: nothing to record about anyone
        audit_record(
            user=request.user,
            action=AuditAction.CREATE if request.method == "POST" else AuditAction.UPDATE,
            object_type=model._meta.model_name,
            object_id=str(data),
            patient_id=patient_id,
            outcome=AuditOutcome.DENIED,
            detail={"field": self.field_name, "status": 400, "path": request.path[:200]},
        )
