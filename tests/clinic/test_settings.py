"""Configuration: the strict environment readers, and what the settings do when variables are missing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from clinic.env import env_bool, env_int, env_list, env_str

PROJECT_DIR = Path(__file__).resolve().parents[2]

TRUE_WORDS = ["true", "True", "TRUE", "1", "yes", "on", " true "]
FALSE_WORDS = ["false", "False", "FALSE", "0", "no", "off", " off "]


# --- env_bool ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", TRUE_WORDS)
def test_env_bool_reads_true_words_as_true(monkeypatch, raw):
    monkeypatch.setenv("FEATURE", raw)

    assert env_bool("FEATURE", default=False) is True


@pytest.mark.parametrize("raw", FALSE_WORDS)
def test_env_bool_reads_false_words_as_false(monkeypatch, raw):
    monkeypatch.setenv("FEATURE", raw)

    assert env_bool("FEATURE", default=True) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("FEATURE", raw)

    with pytest.raises(ImproperlyConfigured, match=f"FEATURE must be true or false, not '{raw}'"):
        env_bool("FEATURE", default=False)


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(monkeypatch, default):
    monkeypatch.delenv("FEATURE", raising=False)
    monkeypatch.delenv("FEATURE_FILE", raising=False)

    assert env_bool("FEATURE", default=default) is default


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_empty(monkeypatch, default):
    monkeypatch.setenv("FEATURE", "")

    assert env_bool("FEATURE", default=default) is default


# --- env_int ----------------------------------------------------------------------------------------------------


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("WORKERS", "12")

    assert env_int("WORKERS", 3) == 12


def test_env_int_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("WORKERS", raising=False)

    assert env_int("WORKERS", 3) == 3


@pytest.mark.parametrize("raw", ["twelve", "1.5", "12s"])
def test_env_int_refuses_anything_but_a_whole_number(monkeypatch, raw):
    monkeypatch.setenv("WORKERS", raw)

    with pytest.raises(ImproperlyConfigured, match="WORKERS must be a whole number"):
        env_int("WORKERS", 3)


# --- env_list ---------------------------------------------------------------------------------------------------


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " clinic.example.org, ,localhost,,")

    assert env_list("HOSTS", []) == ["clinic.example.org", "localhost"]


def test_env_list_falls_back_to_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("HOSTS", raising=False)

    assert env_list("HOSTS", ["127.0.0.1"]) == ["127.0.0.1"]


def test_env_list_of_an_empty_variable_is_empty(monkeypatch):
    monkeypatch.setenv("HOSTS", "")

    assert env_list("HOSTS", ["127.0.0.1"]) == []


# --- The _FILE variant (Docker secrets) -------------------------------------------------------------------------


def test_a_file_variable_is_read_from_the_named_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("s3cret-from-a-docker-secret\n", encoding="utf-8")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))

    assert env_str("SECRET_KEY") == "s3cret-from-a-docker-secret"


def test_the_file_wins_over_the_plain_variable(monkeypatch, tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("from-the-file", encoding="utf-8")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))

    assert env_str("SECRET_KEY") == "from-the-file"


def test_env_bool_reads_its_file_variant_strictly(monkeypatch, tmp_path):
    flag = tmp_path / "debug"
    flag.write_text("maybe\n", encoding="utf-8")
    monkeypatch.setenv("DEBUG_FILE", str(flag))

    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", default=False)


# --- Importing clinic.settings with a given environment (a fresh interpreter each time) ---------------------------


def _start_django(**environ: str) -> subprocess.CompletedProcess[str]:
    """Start Django on the production settings in a clean environment plus `environ`; print a few settings."""
    code = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'clinic.settings'; import django; django.setup(); "
        "from django.conf import settings as s; "
        "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        " 'debug': s.DEBUG}))"
    )
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environ}
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    result = _start_django()

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off (production)." in result.stderr


def test_settings_start_without_secret_key_in_debug_mode():
    result = _start_django(DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is True


def test_settings_refuse_a_debug_value_that_is_not_true_or_false():
    result = _start_django(DEBUG="maybe", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_without_database_url_the_database_is_sqlite_in_the_project_folder():
    result = _start_django(SECRET_KEY="x" * 50)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "engine": "django.db.backends.sqlite3",
        "name": str(PROJECT_DIR / "db.sqlite3"),
        "debug": False,
    }


def test_the_clinic_runs_on_kansas_time_with_aware_datetimes():
    assert (settings.TIME_ZONE, settings.USE_TZ) == ("America/Chicago", True)


def test_the_test_settings_use_a_fast_password_hasher():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
