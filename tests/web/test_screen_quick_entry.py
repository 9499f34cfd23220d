"""Urine screen quick entry (issue 15): the form starts from the clinic's usual panel with no result assumed, "All
negative" marks the unanswered analytes negative without saving (a routine cup is two clicks: that, then Record),
and a refused form lists every error at once with the focus on the first (the chart's other forms too)."""

import pytest
from django.utils import timezone

from cases.models import ANALYTES, USUAL_SCREEN_PANEL, DrugScreen
from clinic.models import AuditEvent
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def add_url(case, kind: str = "drug-screens") -> str:
    return f"/cases/{case.pk}/{kind}/new/"


def today() -> str:
    return timezone.localdate().isoformat()


def checked(html: str, analyte: str) -> str | None:
    """The value of the analyte's checked radio button in the page, if any."""
    for value in ("negative", "positive", "not_tested"):
        tag = html.split(f'name="{analyte}" value="{value}"', 1)
        if len(tag) == 2 and " checked" in tag[1].split(">", 1)[0]:
            return value
    return None


def test_the_usual_panel_starts_unanswered_and_the_rest_not_tested(signed_in, clinician, own_case):
    html = signed_in(clinician).get(f"/patients/{own_case.patient_id}/").content.decode()

    assert "alcohol" not in USUAL_SCREEN_PANEL and len(USUAL_SCREEN_PANEL) == len(ANALYTES) - 1
    assert {analyte: checked(html, analyte) for analyte in USUAL_SCREEN_PANEL} == dict.fromkeys(
        USUAL_SCREEN_PANEL
    )
    assert checked(html, "alcohol") == "not_tested"
    assert 'name="fill" value="negative"' in html


def test_all_negative_fills_the_unanswered_keeps_the_answers_and_saves_nothing(
    signed_in, clinician, own_case, htmx
):
    client = signed_in(clinician)
    before = AuditEvent.objects.count()

    response = client.post(
        add_url(own_case), {"collected_on": today(), "fentanyl": "positive", "fill": "negative"}, headers=htmx
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert checked(html, "fentanyl") == "positive"
    assert all(checked(html, a) == "negative" for a in USUAL_SCREEN_PANEL if a != "fentanyl")
    assert checked(html, "alcohol") == "not_tested"
    assert '<button type="submit" autofocus>Record screen</button>' in html
    assert f'value="{today()}"' in html and "errorlist" not in html
    assert not DrugScreen.objects.exists()
    assert AuditEvent.objects.count() == before


def test_the_filled_form_records_a_routine_negative_screen(signed_in, clinician, own_case):
    body = {"collected_on": today(), **dict.fromkeys(USUAL_SCREEN_PANEL, "negative"), "alcohol": "not_tested"}

    response = signed_in(clinician).post(add_url(own_case), body)

    assert response.status_code == 302
    screen = DrugScreen.objects.get(case=own_case)
    assert {a: screen.results[a] for a in USUAL_SCREEN_PANEL} == dict.fromkeys(USUAL_SCREEN_PANEL, "negative")
    assert screen.alcohol == "not_tested"
    assert AuditEvent.objects.filter(action="create", object_type="drugscreen").count() == 1


def test_every_unanswered_analyte_is_named_at_once_and_the_first_focused(
    signed_in, clinician, own_case, htmx
):
    response = signed_in(clinician).post(
        add_url(own_case), {"collected_on": "", "opioids": "negative", "fentanyl": "positive"}, headers=htmx
    )

    html = response.content.decode()
    assert response.status_code == 400
    missing = [a for a in USUAL_SCREEN_PANEL if a not in ("opioids", "fentanyl")]
    assert set(response.context["form"].errors) == {"collected_on", *missing}
    assert f"correct these {len(missing) + 1} fields" in html
    assert html.count("Choose a result (or not tested).") == 2 * len(missing)  # in the summary and in its row
    assert html.count("autofocus") == 1
    assert (
        'id="id_screen_collected_on"'
        in html.split("autofocus")[0].rsplit("<input", 1)[1] + 'id="id_screen_collected_on"'
    )
    assert not DrugScreen.objects.exists()


def test_the_first_analyte_in_error_gets_the_focus_when_the_date_is_right(signed_in, clinician, own_case):
    response = signed_in(clinician).post(add_url(own_case), {"collected_on": today()})

    form = response.context["form"]
    assert [name for name, field in form.fields.items() if field.widget.attrs.get("autofocus")] == [
        "mitragynine"
    ]


def test_the_other_chart_forms_focus_their_first_error_too(signed_in, clinician, own_case):
    response = signed_in(clinician).post(
        add_url(own_case, "liver-panels"), {"collected_on": today(), "ast": "x"}
    )

    form = response.context["form"]
    assert [name for name, field in form.fields.items() if field.widget.attrs.get("autofocus")] == ["alt"]
    assert {"alt", "ast"} <= set(form.errors)


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_do_not_record_get_a_403_for_the_fill_too(request, db, signed_in, own_case, role):
    user = request.getfixturevalue(role)

    response = signed_in(user).post(add_url(own_case), {"collected_on": today(), "fill": "negative"})

    assert response.status_code == 403
    assert AuditEvent.objects.filter(user=user, outcome="denied").exists()


def test_a_clinician_outside_the_caseload_gets_a_404_for_the_fill(signed_in, clinician, other_clinician):
    case = CaseFactory(primary_clinician=other_clinician)

    response = signed_in(clinician).post(add_url(case), {"collected_on": today(), "fill": "negative"})

    assert response.status_code == 404
    assert "Record screen" not in response.content.decode()
    assert AuditEvent.objects.filter(user=clinician, outcome="denied", patient_id=case.patient_id).exists()
