"""The staff list, for supervisors and administrators (to pick a clinician)."""

import django_filters as filters
from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from api.serializers.staff import StaffSerializer
from cases.selectors import staff_members
from clinic.models import User
from clinic.policy import Capability
from clinic.roles import Role


class StaffFilter(filters.FilterSet):
    role = filters.ChoiceFilter(choices=Role.choices, field_name="groups__name")
    is_active = filters.BooleanFilter()


class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = StaffSerializer
    capability = Capability.LIST_STAFF
    filterset_class = StaffFilter
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[User]:
        return staff_members()
