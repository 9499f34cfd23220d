"""The scheduler: which jobs it runs, that a failing job is logged and does not stop it."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from clinic.management.commands import run_scheduler
from clinic.management.commands.run_scheduler import Job, run_job, scheduled_jobs

pytestmark = pytest.mark.django_db


def test_raise_alerts_runs_hourly():
    [alerts] = [job for job in scheduled_jobs() if job.name == "raise_alerts"]

    assert (alerts.command, alerts.every_seconds) == (("raise_alerts",), 3600)


def test_the_audit_sealer_runs_twice_per_seal_interval(monkeypatch, settings):
    settings.AUDIT_SEAL_INTERVAL = 90
    monkeypatch.setattr(
        run_scheduler, "get_commands", lambda: {"raise_alerts": "cases", "seal_audit": "clinic"}
    )

    jobs = {job.name: job for job in scheduled_jobs()}

    assert jobs["seal_audit"] == Job("seal_audit", ("seal_audit", "--once"), 45)


def test_the_installed_sealer_is_scheduled():
    assert "seal_audit" in [job.name for job in scheduled_jobs()]


def test_without_a_sealer_command_the_sealer_is_not_scheduled(monkeypatch):
    monkeypatch.setattr(run_scheduler, "get_commands", lambda: {"raise_alerts": "cases"})

    assert [job.name for job in scheduled_jobs()] == ["raise_alerts", "purge_drafts", "rollup_visits"]


def test_expired_drafts_are_purged_hourly():
    [purge] = [job for job in scheduled_jobs() if job.name == "purge_drafts"]

    assert (purge.command, purge.every_seconds) == (("purge_drafts",), 3600)


def test_the_visits_rollup_is_settled_every_minute():
    [settle] = [job for job in scheduled_jobs() if job.name == "rollup_visits"]

    assert (settle.command, settle.every_seconds) == (("rollup_visits",), 60)


def test_once_runs_every_job(capsys):
    call_command("run_scheduler", "--once")

    out = capsys.readouterr().out
    assert "raise_alerts" in out
    assert "purge_drafts" in out
    assert "rollup_visits" in out


def test_a_failing_job_is_logged_and_reported_not_raised(caplog):
    ok = run_job(Job("broken", ("no_such_command",), 60))

    assert ok is False
    assert any(record.message == "scheduled job failed" and record.exc_info for record in caplog.records)


def test_once_fails_naming_the_failed_job(monkeypatch):
    monkeypatch.setattr(run_scheduler, "scheduled_jobs", lambda: [Job("broken", ("no_such_command",), 60)])

    with pytest.raises(CommandError, match="broken"):
        call_command("run_scheduler", "--once")
