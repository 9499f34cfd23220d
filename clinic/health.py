"""Probes for the orchestrator: `/healthz` (liveness) and `/readyz` (readiness).

- `/healthz`: the process answers. It touches nothing else, so a database outage never gets the app's containers
  restarted (they would come back to the same outage).
- `/readyz`: the app can serve: the database answers, every migration on disk is applied, and the cache answers.
  503 with the failing checks named otherwise, so a load balancer stops sending traffic until it passes.

Both are answered by `HealthCheckMiddleware`, first in MIDDLEWARE, before the host check, the HTTPS redirect, the
session and the audit: a probe addresses the container by IP or service name, whatever ALLOWED_HOSTS says, over
plain HTTP, and must not write an audit event or a session. They say nothing about patients or configuration.
"""

import time
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

# The migrations on disk, read once per process (they cannot change under a running process).
_migrations_on_disk: set[tuple[str, str]] | None = None


def _expected_migrations() -> set[tuple[str, str]]:
    global _migrations_on_disk
    if _migrations_on_disk is None:
        loader = MigrationLoader(None, ignore_no_migrations=True)
        _migrations_on_disk = set(loader.graph.nodes) - {
            replaced for migration in loader.replacements.values() for replaced in migration.replaces
        }
    return _migrations_on_disk


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_migrations() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = {(app, name) for app, name in cursor.fetchall()}
    missing = _expected_migrations() - applied
    return "ok" if not missing else f"{len(missing)} not applied"


def check_cache() -> str:
    key = "readyz-probe"
    cache.set(key, "1", timeout=5)
    return "ok" if cache.get(key) == "1" else "not answering"


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
}


def _answer(body: dict[str, Any], status: int) -> JsonResponse:
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


def liveness() -> JsonResponse:
    return _answer({"status": "ok"}, 200)


def readiness() -> JsonResponse:
    checks: dict[str, str] = {}
    started = time.perf_counter()
    for name, check in READINESS_CHECKS.items():
        if name == "migrations" and checks.get("database") != "ok":
            checks[name] = "unknown"
            continue
        try:
            checks[name] = check()
        except Exception:  # DatabaseError, or a cache client's own (redis.ConnectionError, ...)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": checks,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return _answer(body, 200 if ready else 503)


PROBES: dict[str, Callable[[], JsonResponse]] = {"/healthz": liveness, "/readyz": readiness}


class HealthCheckMiddleware:
    """Answers the probes before anything else runs (see the module's docstring)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None:
            response: HttpResponse = self.get_response(request)
            return response
        if request.method not in ("GET", "HEAD"):
            return _answer({"detail": "Method not allowed."}, 405)
        return probe()
