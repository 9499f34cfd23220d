"""A running break-glass grant is one rule (`cases.models.access.running_grant_q`): granted, not yet expired. The
caseload, the chart, the dashboard's count and the review list's `?active=` all read it."""

import datetime as dt

import pytest

from cases.filters import BreakGlassGrantFilter
from cases.models import BreakGlassGrant, Patient
from clinic.policy import Capability, caseload_q, may
from tests.factories import BreakGlassGrantFactory

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("granted", "expires", "running"),
    [
        (NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=3), True),
        (NOW, NOW + dt.timedelta(hours=4), True),  # from the moment it is granted
        (NOW - dt.timedelta(hours=4), NOW, False),  # over at its expiry
        (NOW + dt.timedelta(minutes=1), NOW + dt.timedelta(hours=4), False),  # not yet
        (NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1), False),  # ended early or ran out
    ],
)
@pytest.mark.django_db
def test_running_means_granted_and_not_yet_expired(granted, expires, running, clock):
    clock(NOW)
    grant = BreakGlassGrantFactory(granted_at=granted, expires_at=expires)
    assert BreakGlassGrant.objects.running().filter(pk=grant.pk).exists() is running
    assert grant.is_active is running
    active = BreakGlassGrantFilter({"active": "true"}, queryset=BreakGlassGrant.objects.all()).qs
    expired = BreakGlassGrantFilter({"active": "false"}, queryset=BreakGlassGrant.objects.all()).qs
    assert (grant in active, grant in expired) == (running, not running)
    in_caseload = Patient.objects.filter(caseload_q(grant.user), pk=grant.patient_id).exists()
    assert in_caseload is running
    assert may(grant.user, Capability.READ_CLINICAL, grant.patient) is running


@pytest.mark.django_db
def test_running_at_another_moment(clock):
    clock(NOW)
    grant = BreakGlassGrantFactory(granted_at=NOW, expires_at=NOW + dt.timedelta(hours=4))
    assert not BreakGlassGrant.objects.running(NOW - dt.timedelta(seconds=1)).filter(pk=grant.pk).exists()
    assert BreakGlassGrant.objects.running(NOW + dt.timedelta(hours=3)).filter(pk=grant.pk).exists()
    assert not BreakGlassGrant.objects.running(NOW + dt.timedelta(hours=4)).filter(pk=grant.pk).exists()
