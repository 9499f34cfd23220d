"""The instrument registry (SPEC section 4), served so that forms are built from the same definitions the server
scores with."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.serializers.clinical import InstrumentSerializer
from cases.instruments import INSTRUMENTS, Instrument
from clinic.policy import Capability

CODE = OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(INSTRUMENTS))


class InstrumentViewSet(viewsets.GenericViewSet):
    """Definitions, not patient data; but only those who record and read assessments use them."""

    serializer_class = InstrumentSerializer
    capability = Capability.READ_CLINICAL
    filter_backends: list[type] = []
    lookup_field = "code"
    lookup_value_regex = "[a-z0-9_]+"
    http_method_names = ["get", "head", "options"]

    def list(self, request: Request) -> Response:
        page: list[Instrument] | None = self.paginate_queryset(list(INSTRUMENTS.values()))  # type: ignore[arg-type]
        return self.get_paginated_response(InstrumentSerializer(page, many=True).data)

    @extend_schema(parameters=[CODE])
    def retrieve(self, request: Request, code: str) -> Response:
        instrument = INSTRUMENTS.get(code)
        if instrument is None:
            raise NotFound("No such instrument.")
        return Response(InstrumentSerializer(instrument).data)
