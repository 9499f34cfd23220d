"""Shared serializer behaviour: refuse unknown or read-only keys, and hide clinical fields per row."""

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


class ScopedRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must lie inside what the requesting user may act on; anything else 'does not exist'.

    `scoped` is a function `(user) -> queryset`, typically a `clinic.policy` scope for one capability.
    """

    def __init__(self, *, scoped: Any, **kwargs: Any) -> None:
        self.scoped = scoped
        super().__init__(**kwargs)

    def get_queryset(self) -> Any:
        return self.scoped(self.context["request"].user)
