"""Settings for the test suite: production settings with a fixed key, a fast hasher and no HTTPS redirect."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz")

from clinic.settings import *  # noqa: F403
from clinic.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "consent_documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(tempfile.gettempdir()) / "kratom-tests-private-media")},
    },
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Production turns multi-factor sign-in on for administrators and supervisors; the tests that exercise it turn it
# on with override_settings, so that the rest sign in with a password as before.
MFA_REQUIRED_ROLES = []
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Each test runs inside one transaction, and a machine loaded with parallel suites can pause a test longer than
    # production's limits allow (the connection would be cut mid-test): no statement or idle limit, a lock wait of
    # 30 s. tests/api/test_busy.py checks production's values and sets a short lock_timeout where it needs one.
    DATABASES["default"]["OPTIONS"]["options"] = (
        "-c statement_timeout=0 -c lock_timeout=30000 -c idle_in_transaction_session_timeout=0"
    )
