"""The ids of a release's resources, shared by both formats so that each printed record names the FHIR resources
that carry it. A record's own resource takes its UUID; the resources one record yields (a visit's vitals, an
assessment's total, a panel's values) take UUIDv5 names derived from it, so the same records always make the same
ids."""

import uuid

# The clinic's namespace for the UUIDv5 names of derived resources.
_DERIVED = uuid.UUID("7b7f4f8e-3c1a-5d2e-9a51-2b6f0c9d4e11")


def derived_id(source: object, part: str) -> str:
    return str(uuid.uuid5(_DERIVED, f"{source}:{part}"))


def condition_id(case_id: object) -> str:
    return derived_id(case_id, "diagnosis")


def care_plan_id(case_id: object) -> str:
    return derived_id(case_id, "care-plan")


def note_id(visit_id: object) -> str:
    return derived_id(visit_id, "note")


def vital_id(visit_id: object, vital: str) -> str:
    """`vital` is `bp`, `heart-rate` or `weight`."""
    return derived_id(visit_id, vital)


def total_id(assessment_id: object) -> str:
    return derived_id(assessment_id, "total")


def part_id(record_id: object, part: str) -> str:
    """A screen's analyte result or a liver panel's value (`part` is the analyte or the field name)."""
    return derived_id(record_id, part)
