"""Who counts as clinical staff is one rule (`clinic.roles.CLINICAL_ROLES`, read by `clinic.policy.is_clinical_staff`):
the clinician pickers, the services' checks of a visit's clinician and a case's clinicians, and the second-person
approval of a clinical role all answer alike."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.errors import ValidationFailed
from cases.selectors import clinical_staff
from cases.services.cases import case_assign_clinicians
from cases.services.validation import check_clinical_staff
from cases.services.visits import visit_schedule
from clinic.approvals import needs_second_person
from clinic.models import AccessChange
from clinic.policy import is_clinical_staff
from clinic.roles import CLINICAL_ROLES, Role
from tests.factories import CaseFactory, UserFactory

ACCOUNTS = [
    ([], True, False),
    ([Role.FRONT_DESK], True, False),
    ([Role.ADMINISTRATOR], True, False),
    ([Role.CLINICIAN], True, True),
    ([Role.SUPERVISOR], True, True),
    ([Role.FRONT_DESK, Role.CLINICIAN], True, True),
    ([Role.CLINICIAN], False, False),  # deactivated
]


def test_the_clinical_roles_are_clinician_and_supervisor():
    assert {Role.CLINICIAN, Role.SUPERVISOR} == CLINICAL_ROLES


@pytest.mark.django_db
@pytest.mark.parametrize(("roles", "active", "clinical"), ACCOUNTS)
def test_every_reader_of_the_rule_agrees(roles, active, clinical, supervisor):
    user = UserFactory(roles=roles, is_active=active)
    assert is_clinical_staff(user) is clinical
    assert clinical_staff().filter(pk=user.pk).exists() is clinical
    if clinical:
        check_clinical_staff(user, field="clinician")
    else:
        with pytest.raises(ValidationFailed) as refused:
            check_clinical_staff(user, field="clinician")
        assert refused.value.errors == {
            "clinician": [f"{user.username} is not an active clinician or supervisor."]
        }


@pytest.mark.django_db
@pytest.mark.parametrize(("roles", "active", "clinical"), ACCOUNTS)
def test_a_visit_and_a_case_take_only_clinical_staff(roles, active, clinical, supervisor):
    user = UserFactory(roles=roles, is_active=active)
    case = CaseFactory(primary_clinician=None)
    when = timezone.now() + dt.timedelta(days=2)
    writes = {
        "clinician": lambda: visit_schedule(
            case=case, actor=supervisor, clinician=user, visit_type="individual_counseling", scheduled_at=when
        ),
        "primary_clinician": lambda: case_assign_clinicians(
            case=case, actor=supervisor, primary_clinician=user, care_team=[]
        ),
        "care_team": lambda: case_assign_clinicians(
            case=case, actor=supervisor, primary_clinician=None, care_team=[user]
        ),
    }
    for field, write in writes.items():
        if clinical:
            write()
        else:
            with pytest.raises(ValidationFailed) as refused:
                write()
            assert set(refused.value.errors) == {field}


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_adding_a_clinical_role_waits_for_a_second_person(role):
    subject = UserFactory(roles=[])
    assert needs_second_person(subject, AccessChange.Kind.ROLES, [str(role)]) is (role in CLINICAL_ROLES)
