"""The plausible ranges are declared once (`cases.models.ranges.RANGES`): every range has a field validator and a
check constraint with the same bounds, and the API's serializers and the pages' inputs offer the same bounds. A
value outside is refused naming the field before the database; a row that reaches the database anyway is refused
by the constraint, and that refusal is a 400 naming the field, never a 500."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import CheckConstraint, Q
from django.urls import reverse
from rest_framework.test import APIRequestFactory

from api.errors import exception_handler
from api.serializers.cases import CaseWriteSerializer
from api.serializers.visits import RescheduleRequestSerializer, VisitWriteSerializer
from cases.models import Visit
from cases.models.ranges import RANGES
from cases.services.validation import check_constraint_fields, integrity_refusal
from cases.web.visits_forms import NoteForm, RescheduleForm, ScheduleForm
from tests.factories import AttendedVisitFactory


def ranged_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every model field of the clinic whose validators come from `RANGES`."""
    found = []
    for model in apps.get_app_config("cases").get_models():
        for field in model._meta.concrete_fields:
            if any(isinstance(v, MinValueValidator | MaxValueValidator) for v in field._validators):
                found.append((model, field))
    return found


def lookups(condition: Q) -> dict[str, object]:
    """Every `lookup=value` in a condition, however nested."""
    found: dict[str, object] = {}
    for child in condition.children:
        if isinstance(child, Q):
            found.update(lookups(child))
        else:
            found[child[0]] = child[1]
    return found


def test_every_range_is_used_by_a_model_field():
    assert {field.name for _, field in ranged_fields()} == set(RANGES)


@pytest.mark.parametrize(
    ("model", "field"), ranged_fields(), ids=lambda x: getattr(x, "__name__", getattr(x, "name", ""))
)
def test_every_ranged_field_has_validators_and_a_constraint_with_the_same_bounds(model, field):
    low, high = RANGES[field.name]
    limits = {type(v): v.limit_value for v in field._validators}
    assert limits[MinValueValidator] == low
    assert limits[MaxValueValidator] == high

    holding = [
        c
        for c in model._meta.constraints
        if isinstance(c, CheckConstraint) and f"{field.name}__lte" in lookups(c.condition)
    ]
    assert len(holding) == 1, f"{model.__name__}.{field.name}: one check constraint holds its range"
    found = lookups(holding[0].condition)
    assert found[f"{field.name}__lte"] == high
    if f"{field.name}__gte" in found:
        assert found[f"{field.name}__gte"] == low
    else:  # the column's own CHECK (a positive integer field) holds a lower bound of 0
        assert low == 0
        assert isinstance(field, models.PositiveSmallIntegerField | models.PositiveIntegerField)
    if field.null:
        assert found.get(f"{field.name}__isnull") is not None, "NULL (not recorded) passes"
    assert field.name in check_constraint_fields(holding[0].name)


def test_the_api_and_the_pages_offer_the_same_bounds():
    serializers = [VisitWriteSerializer(), RescheduleRequestSerializer(), CaseWriteSerializer()]
    forms = [NoteForm(visit=Visit(status="attended")), RescheduleForm(visit=Visit(scheduled_at=_now()))]
    forms.append(ScheduleForm(case=_case()))
    checked = set()
    for serializer in serializers:
        for name, field in serializer.fields.items():
            if name in RANGES:
                assert (field.min_value, field.max_value) == RANGES[name], name
                checked.add(name)
    for form in forms:
        for name, field in form.fields.items():
            if name in RANGES:
                attrs = field.widget.attrs
                assert (attrs["min"], attrs["max"]) == RANGES[name], name
    assert checked == set(RANGES)


def _now():
    from django.utils import timezone

    return timezone.now()


def _case():
    from cases.models import Case

    return Case(primary_clinician_id=None)


# --- The database's backstop --------------------------------------------------------------------------------


def refused_row(visit: Visit, **fields: object) -> IntegrityError:
    """The IntegrityError of writing `fields` on the visit around the validators."""
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(**fields)
    return refused.value


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"craving": 11}, "craving"),
        ({"heart_rate": 300}, "heart_rate"),
        ({"weight_kg": Decimal("401")}, "weight_kg"),
        ({"bp_systolic": 120, "bp_diastolic": None}, "bp_systolic"),
    ],
)
def test_a_check_the_database_refuses_is_a_400_naming_the_field(own_case, clinician, fields, named):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)

    refusal = integrity_refusal(refused_row(visit, **fields))

    assert refusal is not None
    assert refusal.code == "constraint_violated"
    assert named in refusal.errors


def test_the_api_answers_a_check_violation_with_400_not_500(own_case, clinician):
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    error = refused_row(visit, craving=11)
    request = APIRequestFactory().patch("/api/v1/visits/")

    response = exception_handler(error, {"request": request, "view": None})

    assert response is not None
    assert response.status_code == 400
    assert response.data["code"] == "constraint_violated"
    assert "craving" in response.data


def test_a_page_answers_a_check_violation_with_400_not_500(client, own_case, clinician, monkeypatch):
    """Were the validators to miss a value (here: switched off), the constraint refuses it, and the page says
    400."""
    import cases.services.visits as visits

    monkeypatch.setattr(visits, "full_clean_or_raise", lambda *args, **kwargs: None)
    visit = AttendedVisitFactory(case=own_case, clinician=clinician)
    client.force_login(clinician)

    response = client.post(reverse("visit-note", args=[visit.pk]), {"craving": "11"})

    assert response.status_code == 400
    visit.refresh_from_db()
    assert visit.craving is None


def test_another_integrity_error_is_left_to_its_caller(db):
    assert integrity_refusal(IntegrityError("UNIQUE constraint failed: cases_patient.mrn")) is None


def test_the_assessment_total_constraint_is_the_largest_instrument_maximum():
    """An assessment's total is computed by the scoring from the instrument's items; the database's backstop for
    all instruments is the largest maximum among them (SOWS: 64), taken from the same definitions."""
    from cases.instruments import INSTRUMENTS
    from cases.models import Assessment

    (constraint,) = [c for c in Assessment._meta.constraints if c.name == "assessment_total_range"]
    assert lookups(constraint.condition) == {"total__lte": 64}
    assert max(instrument.max_total for instrument in INSTRUMENTS.values()) == 64
