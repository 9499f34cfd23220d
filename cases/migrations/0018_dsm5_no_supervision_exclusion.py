# SPEC v2 section 4: the DSM-5 kratom checklist has no "under medical supervision" exclusion (DSM-5-TR gives it for
# opioids, sedatives and stimulants only). Checklists recorded with the box ticked were totalled without tolerance
# and withdrawal: they are totalled again with them, as DSM-5-TR counts them, so that their band, the diagnosis
# they establish and its ICD-10-CM code are right. Their responses stay exactly as given (the ticked box
# included), so the record still shows what was answered; the former total is the new one less tolerance and
# withdrawal (docs/clinical.md).

from django.db import migrations

CRITERIA = (
    "larger_longer", "cut_down", "time_spent", "craving", "role_failure", "social_problems", "activities_given_up",
    "hazardous_use", "physical_psych_problems", "tolerance", "withdrawal",
)  # fmt: skip
# The checklist's bands as they stand at this migration (criteria met).
BANDS = (("none", 0, 1), ("mild", 2, 3), ("moderate", 4, 5), ("severe", 6, 11))


def rescore_supervised_checklists(apps, schema_editor):
    Assessment = apps.get_model("cases", "Assessment")
    ticked = Assessment.objects.filter(instrument="dsm5_sud", responses__under_medical_supervision=True)
    for assessment in ticked.iterator(chunk_size=500):
        total = sum(1 for code in CRITERIA if assessment.responses.get(code) is True)
        band = next(code for code, low, high in BANDS if low <= total <= high)
        if (assessment.total, assessment.band) != (total, band):
            Assessment.objects.filter(pk=assessment.pk).update(total=total, band=band)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0017_visit_events"),
    ]

    operations = [
        migrations.RunPython(rescore_supervised_checklists, migrations.RunPython.noop),
    ]
