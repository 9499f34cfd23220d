"""The four staff roles; each is a Django group of the same name, created by a data migration."""

from collections.abc import Iterable

from django.db import models


class Role(models.TextChoices):
    FRONT_DESK = "front_desk", "Front desk"
    CLINICIAN = "clinician", "Clinician"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMINISTRATOR = "administrator", "Administrator"


# Clinical staff: the roles that carry a caseload (a case's primary clinician or care team, a visit's clinician, the
# clinician pickers; adding one to an account waits for a second person). Read through
# `clinic.policy.is_clinical_staff` and `cases.selectors.clinical_staff`.
CLINICAL_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR})


def role_label(code: str) -> str:
    """The role's name as staff read it ("Front desk"); a code that is no role (an old event's) as it is."""
    return Role(code).label if code in Role.values else code


def role_labels(codes: Iterable[str]) -> str:
    """Several roles by name, in the order of `Role` ("Clinician, Supervisor"), or "-" for none."""
    known = [role.label for role in Role if role.value in set(codes)]
    unknown = sorted(set(codes) - set(Role.values))
    return ", ".join([*known, *unknown]) or "-"
