"""Settings for the case tracker, read from environment variables; safe for production when only SECRET_KEY is set."""

import datetime as dt
import logging
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from clinic.env import env_bool, env_int, env_list, env_str
from clinic.errors import init_error_reporting
from clinic.logs import logging_config
from clinic.roles import Role

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production).")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG-mode"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_htmx",
    "template_partials",  # {% partialdef %}: the fragments htmx swaps live inside the page's own template
    "django_prometheus",
    "axes",  # before "clinic": its sign-in receivers run before the audit's (clinic.security)
    "clinic",
    "cases",
    "api",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first and last: times the whole request
    "clinic.health.HealthCheckMiddleware",  # first: probes answer whatever the Host, without session or audit
    "django.middleware.security.SecurityMiddleware",
    "clinic.audit.RequestContextMiddleware",
    "clinic.logs.AccessLogMiddleware",  # inside the request id: one access line per request
    "clinic.inputguard.RequestBodyLimitMiddleware",  # 413 (with the request id) before anything reads the body
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "clinic.security.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "clinic.security.SessionIdleTimeoutMiddleware",
    "clinic.enrolment.EnrolmentGateMiddleware",  # a session that must enrol an authenticator first goes nowhere else
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last but metrics, as axes asks: a lockout into its 429 (clinic.security)
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # First, so that the project can restyle the admin (clinic/templates/admin/base_site.html).
        "DIRS": [BASE_DIR / "clinic" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cases.web.access.navigation",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or an SQLite file in the project folder. ---
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed during a write; IMMEDIATE takes the write lock at BEGIN so that two
    # writers queue instead of failing half-way ("database is locked") on a lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No statement, lock wait or open idle transaction may hold a worker (or a row) for long: a stuck client or a
    # network partition otherwise holds its locks until TCP gives up. Seconds; 0 turns one off (a long migration
    # or a bulk load may need DB_STATEMENT_TIMEOUT=0). A lock wait or statement that times out answers 503 `busy`, a
    # lost connection 503 `database_unavailable`, from the API and the pages alike (clinic/errors.py decides).
    _timeouts = {
        "statement_timeout": env_int("DB_STATEMENT_TIMEOUT", 30),
        "lock_timeout": env_int("DB_LOCK_TIMEOUT", 5),
        "idle_in_transaction_session_timeout": env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT", 10),
    }
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 5)
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(
        f"-c {name}={seconds * 1000}" for name, seconds in _timeouts.items()
    )

# PostgreSQL: the app's own least-privilege login (clinic/dbroles.py), granted after each migrate by the owner that
# migrates; unset, no grants are made (SQLite, or a server whose grants are managed elsewhere).
DATABASE_APP_ROLE = env_str("DATABASE_APP_ROLE") or ""
# Behind pgbouncer in transaction pooling mode, server-side cursors (.iterator()) must be off.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clinic.User"

# Argon2id for new and changed passwords; the others only verify older hashes (upgraded at the next login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username before any password check
    "clinic.backends.ClinicBackend",  # ModelBackend that loads the user with the roles in one query
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Sign-in protection (clinic/signin.py, clinic/security.py) ---
# Lockout (django-axes): 5 failures for one username from one address within 15 minutes lock that pair for 15
# minutes, on the login pages and the token endpoint alike. Keyed on the pair, so that one mistyping colleague
# behind the clinic's shared address locks out nobody else. Attempts are kept in the database (shared by every
# worker); administrators unlock early by deleting the access attempt in the admin (or `axes_reset_username`).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets the earlier failures of that username and address
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lock ends 15 minutes after it began, as told
AXES_CLIENT_IP_CALLABLE = "clinic.network.client_ip"  # the same address as the audit trail and the throttles
AXES_LOCKOUT_CALLABLE = "clinic.security.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # the audit trail records every sign-in; no second, editable copy
AXES_ENABLE_ADMIN = False  # clinic/admin.py shows access attempts to the administrators instead
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp"]
AXES_VERBOSE = False  # no start-up banner
# Clients reach the app through this many reverse proxies that append to X-Forwarded-For (clinic/network.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# Multi-factor sign-in (TOTP, django-otp) for these roles on the login pages and the token endpoint, and for
# superusers whenever any role needs it (SPEC section 2: every role in production, none with DEBUG, the demo). A
# production configuration that leaves a role out logs a warning at start-up (clinic.apps).
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", [] if DEBUG else list(Role.values))
if unknown_roles := sorted(set(MFA_REQUIRED_ROLES) - set(Role.values)):
    raise ImproperlyConfigured(
        f"MFA_REQUIRED_ROLES names unknown roles {unknown_roles}; the roles are {', '.join(Role.values)}."
    )
OTP_TOTP_ISSUER = "Kratom recovery clinic"

# A browser session ends after this many seconds without a request (clinic.security.SessionIdleTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 15 * 60)
if SESSION_IDLE_TIMEOUT <= 0:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT must be a positive number of seconds.")

# The cache holds the API throttle counts (api/throttles.py) and, with Redis, the sessions. The default, a
# per-process memory cache, is right for one process only: with several gunicorn workers or app containers each
# counts alone, so production sets REDIS_URL (docker-compose.yml does). CACHE_URL is the older name of the same.
# The lockout does not use the cache (its attempts are in the database).
CACHE_URL = env_str("REDIS_URL") or env_str("CACHE_URL") or ""
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "clinic",
            # A Redis that does not answer fails a request in a second, not after the client's default wait.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Sessions read from Redis and written through to the database, so a Redis restart signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif CACHE_URL in ("", "locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(
        f"REDIS_URL or CACHE_URL must be redis://... or rediss://..., not {CACHE_URL!r}"
    )

# --- Time: the clinic is in Kansas; the database stores UTC. ---
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Chicago"
USE_I18N = True
USE_TZ = True
# One date and time format for every page (clinic/formats/en/formats.py: 2026-12-03 14:30).
FORMAT_MODULE_PATH = ["clinic.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Scans of signed Part 2 consent forms (cases.models.part2): private files, never served from a public URL
    # (no MEDIA_URL route exists); the API and pages stream them after asking the policy.
    "consent_documents": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env_str("PRIVATE_MEDIA_ROOT") or str(BASE_DIR / "private_media")},
    },
}

REST_FRAMEWORK = {
    # Token first so that an API client's 401 carries `WWW-Authenticate: Token` (not a 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.HasCapability",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # Per user when signed in, per address when not; the token endpoint adds per username and address
    # (api/throttles.py). Generous enough that fifty staff behind one address signing in at once pass.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.UserRateThrottle", "api.throttles.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_RATE_USER") or "600/min",
        "anon": env_str("API_RATE_ANON") or "300/min",
        "sign_in": env_str("API_RATE_SIGN_IN") or "10/min",
    },
    "COERCE_DECIMAL_TO_STRING": False,
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Tokens are stored only as SHA-512 digests (knox) and expire after a shift.
REST_KNOX = {"TOKEN_TTL": dt.timedelta(hours=8), "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kratom recovery case tracker API",
    "DESCRIPTION": "Staff-facing REST API. Authenticate with a browser session or `Authorization: Token <token>` "
    "from `POST /api/v1/auth/token/`. Records outside what your role may see answer 404.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs need a signed-in user unless DEBUG (SPEC section 2).
    "SERVE_PERMISSIONS": ["api.permissions.SchemaAccess"],
    "SERVE_AUTHENTICATION": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No validator badge: it would send the schema's address to validator.swagger.io (and CSP refuses it).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "cases.models.episodes.CaseStage",
        "CaseStatusEnum": "cases.models.episodes.CaseStatus",
        "VisitStatusEnum": "cases.models.visits.VisitStatus",
        "DischargeReasonEnum": "cases.models.episodes.CaseDischargeReason",
        "InstrumentEnum": "cases.models.assessments.AssessmentInstrument",
        "GoalStatusEnum": "cases.models.clinical.TreatmentGoalStatus",
        "ScreenResultEnum": "cases.models.clinical.ScreenResult",
        "AlertStatusEnum": "cases.models.alerts.AlertStatus",
        "AlertSeverityEnum": "cases.models.alerts.AlertSeverity",
        "AlertKindEnum": "cases.models.alerts.AlertKind",
        "ClinicalEventKindEnum": "cases.models.events.ClinicalEventKind",
        "RelatedToKratomEnum": "cases.models.events.RelatedToKratom",
        "ConsentKindEnum": "cases.models.part2.ConsentKind",
        "BreakGlassVerdictEnum": "cases.models.access.BreakGlassVerdict",
        "AccessChangeKindEnum": "clinic.models.AccessChangeKind",
        "AccessChangeStatusEnum": "clinic.models.AccessChangeStatus",
        "DuplicateReviewOutcomeEnum": "cases.models.patients.DuplicateReviewOutcome",
        "AuditOutcomeEnum": "clinic.models.AuditOutcome",
    },
}

# --- Security: strict unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER_ENABLED. ---
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # forms carry the token; the API docs page has it templated in
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): the app's own scripts, styles, images and fonts only; no inline script or
# style unless it carries the response's nonce (only the API docs page, api/templates/api/swagger_ui.html, does);
# `data:` images for Swagger UI's icons. Permissions-Policy and no-store caching: clinic.security.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Request bodies (clinic/inputguard.py, SPEC section 8): over this many bytes a request is refused with 413.
# SPEC says 10 MB; the default leaves room for a 10 MB scanned consent form plus its multipart envelope and fields.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 12 * 1024 * 1024)
if MAX_REQUEST_BODY_BYTES <= 0:
    raise ImproperlyConfigured("MAX_REQUEST_BODY_BYTES must be a positive number of bytes.")

# --- E-mail: password links (clinic/approvals.py). The demo prints them on the console; production names a backend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "case-tracker@localhost"

# --- Clinic rules that are configuration rather than code. ---
BREAK_GLASS_HOURS = 4

# --- Operations (docs/operations.md) ---
# Logs: JSON lines on standard error, UTC, with the request id and user id (clinic/logs.py); LOG_FORMAT=text for a
# developer's terminal.
LOG_FORMAT = env_str("LOG_FORMAT") or "json"
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = logging_config(level=env_str("LOG_LEVEL") or "INFO", fmt=LOG_FORMAT)
logging.captureWarnings(True)  # Python's warnings become log lines too, not bare stderr text
# Metrics (django-prometheus) at /metrics: for a scraper sending `Authorization: Bearer <METRICS_TOKEN>`, or from an
# address in METRICS_ALLOWED_NETWORKS (the client address as clinic/network.py reads it); nobody else.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
# Error reporting (Sentry), only when SENTRY_DSN is set; events carry no request body, cookie, header, query string
# or user detail but the id (clinic/errors.py scrubs them).
SENTRY_DSN = env_str("SENTRY_DSN") or ""
if SENTRY_DSN:
    init_error_reporting(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT") or "production",
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE") or "0"),
    )
# Timed jobs (manage.py run_scheduler): raise_alerts every hour; the audit sealer every AUDIT_SEAL_INTERVAL seconds
# (below).
SCHEDULE_RAISE_ALERTS_SECONDS = env_int("SCHEDULE_RAISE_ALERTS_SECONDS", 3600)
SCHEDULE_PURGE_DRAFTS_SECONDS = env_int("SCHEDULE_PURGE_DRAFTS_SECONDS", 3600)
SCHEDULE_SETTLE_VISIT_COUNTS_SECONDS = env_int("SCHEDULE_SETTLE_VISIT_COUNTS_SECONDS", 60)
# Backups (manage.py backup, manage.py restore_drill): where pg_dump's files and their manifests go.
BACKUP_DIR = env_str("BACKUP_DIR") or str(BASE_DIR / "backups")
# A 503 (`busy`: a lock or statement timeout; `database_unavailable`) tells clients to try again after this many seconds (clinic/errors.py).
RETRY_AFTER_SECONDS = env_int("RETRY_AFTER_SECONDS", 5)

# --- Audit sealing (clinic/audit.py, docs/audit.md) ---
# Seconds between the sealer's passes; `verify_audit` reports events left unsealed longer than this.
AUDIT_SEAL_INTERVAL = env_int("AUDIT_SEAL_INTERVAL", 60)
# A file each seal's hash is appended to (on storage the database's owner cannot rewrite); empty: log line only.
AUDIT_ANCHOR_FILE = env_str("AUDIT_ANCHOR_FILE") or ""
# /readyz fails while an audit event has waited unsealed this long (the sealer is stopped or held back).
READY_MAX_AUDIT_LAG_SECONDS = env_int("READY_MAX_AUDIT_LAG_SECONDS", 60)
