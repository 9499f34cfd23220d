"""OpenAPI generation: the error responses every operation can give, and fields some rows leave out.

`AutoSchema` (the `DEFAULT_SCHEMA_CLASS`) documents, besides each view's own responses, the errors of SPEC
section 8 that the operation can answer with, so that a client (or a fuzzer) finds every status in the schema:
400 for bad input or filters, 401 without credentials, 403 for a role that never has the action, 404 for a
record outside the caller's scope or a page past the end, 415 for a body that is not JSON, 429 when throttled.
Views add 409 themselves where a conflict is possible.

The serializer extensions mark response fields that the serializer leaves out for some rows (clinical content
the caller may not read, SPEC section 2) as optional, so that the schema does not promise what the API must
withhold.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_object_type
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """An error with a human-readable explanation."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """Bad input: each key is a field (or query parameter) name, or `non_field_errors` / `detail`, with what is
    wrong with it (a list of messages, or nested per item for lists)."""


class ValidationErrorExtension(OpenApiSerializerExtension):
    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return build_object_type(
            properties={},
            description=ValidationErrorSerializer.__doc__,
            additionalProperties={
                "oneOf": [
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "object", "additionalProperties": True},
                    {"type": "string"},
                ]
            },
        )


class OmittableFieldsExtension(OpenApiSerializerExtension):
    """Response fields named in the serializer's `clinical_fields` may be absent (rows the caller may not read)."""

    target_class = "api.serializers.base.ClinicalFieldsMixin"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        omittable = set(getattr(self.target, "clinical_fields", ()))
        required = [name for name in schema.get("required", []) if name not in omittable]
        if required:
            schema["required"] = required
        else:
            schema.pop("required", None)
        return schema


class StageTransitionExtension(OpenApiSerializerExtension):
    """A transition's reason is clinical content: the case leaves it out for callers who may not read it."""

    target_class = "api.serializers.cases.StageTransitionSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["required"] = [name for name in schema.get("required", []) if name != "reason"]
        return schema


_ERRORS = {
    "400": (ValidationErrorSerializer, "Bad input: the body names each offending field or parameter."),
    "401": (ErrorSerializer, "No valid credentials (a missing, expired or revoked token)."),
    "403": (ErrorSerializer, "Your role never has this action."),
    "404": (ErrorSerializer, "No such record, or one outside what you may see; or a page past the end."),
    "415": (ErrorSerializer, "The body is not JSON."),
    "429": (
        ErrorSerializer,
        "Too many requests: wait the seconds in `Retry-After`. At sign-in, also a username locked out at your "
        "address after repeated failures.",
    ),
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                serializer, description = _ERRORS[code]
                responses[code] = {
                    **self._get_response_for_code(serializer, code, direction=direction),
                    "description": description,
                }
        for code, response in responses.items():
            # Errors are JSON whatever format was asked for (`?format=csv` too; see api.audit).
            if code.startswith("4") and "application/json" in response.get("content", {}):
                response["content"] = {"application/json": response["content"]["application/json"]}
        return responses

    def _error_codes(self) -> list[str]:
        writes = self.method in ("POST", "PUT", "PATCH")
        is_list = self._is_list_view()
        codes = ["400"] if writes or is_list else []  # bad body or filters (and domain rules on writes)
        codes += ["401", "403"] if self.get_auth() else ["401"]  # no auth: only refused credentials
        if "{" in self.path or is_list:
            codes.append("404")  # not in scope, or `?page=` past the end
        if writes:
            codes.append("415")  # a body that is not JSON (actions without input refuse one too)
        codes.append("429")  # every operation is throttled (api/throttles.py)
        return codes
