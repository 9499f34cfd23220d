"""A first end-to-end walk through the stage workflow."""

from cases.models import Case
from cases.services.stages import case_transition
from tests.factories import Dsm5ChecklistFactory


def test_a_case_walks_from_intake_to_discharge(own_case, clinician):
    case_transition(case=own_case, to_stage="assessment", actor=clinician)
    Dsm5ChecklistFactory(case=own_case)
    case_transition(case=own_case, to_stage="treatment", actor=clinician)
    case_transition(case=own_case, to_stage="recovery", actor=clinician)
    case_transition(case=own_case, to_stage="discharged", actor=clinician, discharge_reason="completed")

    own_case.refresh_from_db()
    assert own_case.status == Case.Status.CLOSED
    assert own_case.discharge_reason == "completed"
    assert list(own_case.stage_history.values_list("sequence", "to_stage")) == [
        (1, "intake"),
        (2, "assessment"),
        (3, "treatment"),
        (4, "recovery"),
        (5, "discharged"),
    ]
