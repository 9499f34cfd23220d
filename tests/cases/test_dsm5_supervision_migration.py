"""Migration 0016: checklists recorded with the withdrawn medical-supervision box are totalled again as DSM-5-TR
counts them for kratom (tolerance and withdrawal included); their responses stay as given."""

import datetime as dt
import importlib

from django.apps import apps

from cases.models import Assessment
from tests.report_builders import checklist, episode, local

migration = importlib.import_module("cases.migrations.0018_dsm5_no_supervision_exclusion")


def recorded(case, responses, total, band, by):
    return Assessment.objects.create(
        case=case, instrument="dsm5_sud", responses=responses, total=total, band=band,
        administered_at=local(dt.date(2025, 1, 15)), by=by,
    )  # fmt: skip


def test_a_supervised_checklist_is_totalled_again_and_keeps_its_answers(clinician):
    case = episode(dt.date(2025, 1, 1), primary=clinician)
    given = checklist(cut_down=True, craving=True, tolerance=True, withdrawal=True) | {
        "under_medical_supervision": True
    }
    supervised = recorded(case, given, 2, "mild", clinician)  # as the withdrawn exclusion scored it
    unticked = recorded(
        case, checklist(cut_down=True) | {"under_medical_supervision": False}, 1, "none", clinician
    )

    migration.rescore_supervised_checklists(apps, None)

    supervised.refresh_from_db()
    unticked.refresh_from_db()
    assert (supervised.total, supervised.band, supervised.responses) == (4, "moderate", given)
    assert (unticked.total, unticked.band) == (1, "none")
