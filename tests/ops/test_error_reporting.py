"""The error-reporting hook (Sentry) is off unless configured, and what it would send carries no patient data."""

import subprocess
import sys
from pathlib import Path

from clinic.errors import scrub_event

ROOT = Path(__file__).resolve().parents[2]


def test_an_event_keeps_where_it_happened_and_loses_what_it_carried():
    event = {
        "request": {
            "url": "https://clinic.example/api/v1/patients/?search=Garcia",
            "method": "GET",
            "query_string": "search=Garcia",
            "data": {"subjective": "note text"},
            "cookies": {"sessionid": "abc"},
            "headers": {"Authorization": "Token secret"},
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "user": {"id": "17", "username": "clinician", "email": "c@example.org"},
        "breadcrumbs": {"values": [{"message": "SELECT ... 'Garcia'"}]},
        "extra": {"patient": "Garcia"},
        "exception": {
            "values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"name": "Garcia"}}]}}]
        },
    }

    scrubbed = scrub_event(event, {})

    assert scrubbed["request"] == {"url": "https://clinic.example/api/v1/patients/", "method": "GET"}
    assert scrubbed["user"] == {"id": "17"}
    assert "Garcia" not in repr(scrubbed)
    assert "secret" not in repr(scrubbed)


def test_sentry_starts_only_with_a_dsn():
    script = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'clinic.settings'; import django; django.setup(); "
        "import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    )
    base = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 50}

    def active(**environ: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
            [sys.executable, "-c", script], cwd=ROOT, env={**base, **environ}, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert active() == "False"
    assert active(SENTRY_DSN="https://public@sentry.invalid/1") == "True"
