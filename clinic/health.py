"""Probes for the orchestrator, `/healthz` (liveness) and `/readyz` (readiness), and `/metrics` for Prometheus.

- `/healthz`: the process answers. It touches nothing else, so a database outage never gets the app's containers
  restarted (they would come back to the same outage).
- `/readyz`: the app can serve: the database answers, every migration on disk is applied, the audit sealer keeps
  up (no event unsealed for READY_MAX_AUDIT_LAG_SECONDS, 60 s by default) and the cache answers. 503 with the
  failing checks named otherwise, so a load balancer stops sending traffic until it passes.

- `/metrics`: django-prometheus' counters and histograms (requests by view and status, latencies, database and
  cache use) for a scraper with `Authorization: Bearer <METRICS_TOKEN>` or from METRICS_ALLOWED_NETWORKS; 404 to
  anyone else (it does not advertise itself).

All three are answered by `HealthCheckMiddleware`, first in MIDDLEWARE, before the host check, the HTTPS redirect, the
session and the audit: a probe addresses the container by IP or service name, whatever ALLOWED_HOSTS says, over
plain HTTP, and must not write an audit event or a session. They say nothing about patients or configuration.
"""

import hmac
import ipaddress
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django_prometheus.exports import ExportToDjangoView

from clinic.network import client_ip

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


def check_audit_sealer() -> str:
    """The sealer keeps up: no audit event has waited unsealed longer than READY_MAX_AUDIT_LAG_SECONDS."""
    from clinic.audit import unsealed_lag_seconds

    lag = unsealed_lag_seconds()
    limit: int = settings.READY_MAX_AUDIT_LAG_SECONDS
    return "ok" if lag < limit else f"{lag:.0f} s behind (limit {limit} s)"


def check_cache() -> str:
    key = "readyz-probe"
    cache.set(key, "1", timeout=5)
    return "ok" if cache.get(key) == "1" else "not answering"


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "audit_sealer": check_audit_sealer,
    "cache": check_cache,
}
NEEDS_DATABASE = ("migrations", "audit_sealer")


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
        if name in NEEDS_DATABASE and checks.get("database") != "ok":
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


def metrics_allowed(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    if token:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    address = client_ip(request)
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(
        ip in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS
    )


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return _answer({"detail": "Not found."}, 404)
    response: HttpResponse = ExportToDjangoView(request)
    add_never_cache_headers(response)
    return response


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": lambda request: liveness(),
    "/readyz": lambda request: readiness(),
    "/metrics": metrics,
}


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
        return probe(request)
