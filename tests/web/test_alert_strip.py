"""The alert strip at the top of the chart: unresolved alerts, urgent first, with counts and links to each alert's
row; shown to those who read clinical content, never to front desk."""

import re

import pytest
from django.utils import timezone

from tests.factories import AlertFactory
from tests.web.query_count import count_queries

pytestmark = pytest.mark.django_db


def chart(client, case) -> str:
    return client.get(f"/patients/{case.patient_id}/").content.decode()


def strip(content: str) -> str:
    match = re.search(r'<aside class="alert-strip[^"]*".*?</aside>', content, re.S)
    assert match, "no alert strip on the chart"
    return match.group(0)


def test_the_strip_lists_unresolved_alerts_urgent_first_with_counts(signed_in, clinician, own_case):
    warning = AlertFactory(case=own_case, kind="elevated_bp", severity="warning")
    urgent = AlertFactory(case=own_case, kind="fentanyl_positive", severity="urgent")
    AlertFactory(
        case=own_case,
        kind="liver_injury",
        status="resolved",
        resolved_at=timezone.now(),
        resolved_by=clinician,
    )
    html = strip(chart(signed_in(clinician), own_case))
    assert "2 unresolved alerts" in html
    assert "1 urgent" in html and "1 warning" in html
    assert html.index(f'href="#alert-{urgent.pk}"') < html.index(f'href="#alert-{warning.pk}"')
    assert 'class="alert-chip urgent"' in html
    assert "Liver" not in html  # resolved alerts stay off the strip


def test_each_chip_leads_to_its_alert_row_on_the_same_page(signed_in, clinician, own_case):
    alert = AlertFactory(case=own_case)
    content = chart(signed_in(clinician), own_case)
    assert f'href="#alert-{alert.pk}"' in strip(content)
    assert f'id="alert-{alert.pk}" class="alert-row urgent"' in content


def test_acknowledged_alerts_are_marked_and_counted_apart(signed_in, clinician, own_case):
    AlertFactory(case=own_case)
    AlertFactory(
        case=own_case,
        kind="elevated_bp",
        severity="warning",
        status="acknowledged",
        acknowledged_at=timezone.now(),
        acknowledged_by=clinician,
    )
    html = strip(chart(signed_in(clinician), own_case))
    assert "1 not yet acknowledged" in html
    assert "(acknowledged)" in html


def test_a_chart_without_alerts_says_so_at_the_top(signed_in, clinician, own_case):
    assert "No open alerts" in strip(chart(signed_in(clinician), own_case))


def test_the_strip_has_a_section_menu(signed_in, supervisor, own_case):
    content = chart(signed_in(supervisor), own_case)
    menu = re.search(r'<nav class="chart-sections".*?</nav>', content, re.S).group(0)
    for anchor in ("#alerts", "#case", "#visits", "#assessments", "#drug-screens", "#medications", "#plan"):
        assert f'href="{anchor}"' in menu
        assert f'id="{anchor[1:]}"' in content  # every link has its section


def test_front_desk_sees_no_alert_strip(signed_in, front_desk, own_case):
    AlertFactory(case=own_case)
    content = chart(signed_in(front_desk), own_case)
    assert "alert-strip" not in content
    assert "Suicide" not in content


def test_the_strip_adds_no_query(signed_in, clinician, own_case):
    """The strip reads the alerts the chart already loads: more alerts, not more queries."""
    client = signed_in(clinician)
    chart_url = f"/patients/{own_case.patient_id}/"
    AlertFactory(case=own_case, kind="suicide_risk")
    client.get(chart_url)
    one = count_queries(lambda: client.get(chart_url))
    for kind in ("elevated_bp", "fentanyl_positive", "liver_injury", "withdrawal_moderate"):
        AlertFactory(case=own_case, kind=kind)
    assert count_queries(lambda: client.get(chart_url)) == one
